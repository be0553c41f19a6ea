/**
 * The node's name and its AuthService as the configuration sets them up: shared by the server
 * (server.ts) and the admin CLI, in a module of their own so that a CLI command does not load the
 * server's engines to get them.
 */
import { hostname } from 'node:os';
import { LoginLimiter, limiterOptions, systemClock } from '../auth/limiter.js';
import { SecretBox } from '../auth/secret.js';
import { AuthService } from '../auth/service.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/types.js';

/** This node's name among the nodes of a shared store (`store.node`, `--node`), else the host name. */
export function nodeName(config: Config): string {
  return config.store.node || hostname();
}

/**
 * The AuthService as the configuration sets it up (shared by the server and the admin CLI), with the one
 * LoginLimiter that every engine and the web login go through. `secretBox`: default the data dir's
 * (`secret.key`, created when missing).
 */
export function authFromConfig(
  store: Store,
  config: Config,
  dataDir: string,
  log?: Logger,
  secretBox?: SecretBox,
): AuthService {
  return new AuthService(store, {
    secretBox: secretBox ?? SecretBox.open(dataDir),
    plaintextNetworks: config.plaintext_networks,
    scryptLogN: config.auth.scrypt_log_n,
    apop: config.pop3.apop,
    failureDelayMs: config.auth.failure_delay_ms,
    limiter: loginLimiter(store, config, log),
    ...(log ? { log: log.child({ component: 'auth' }) } : {}),
  });
}

/** The login limiter; its counts are the store's when several nodes share it (limiter.ts). */
function loginLimiter(store: Store, config: Config, log?: Logger): LoginLimiter {
  const counts = store.loginCounts;
  if (!counts) return new LoginLimiter(limiterOptions(config.auth));
  // One warning per minute at most: a store that cannot be reached fails every login's read.
  let warnedAt = 0;
  const onError = (err: unknown) => {
    if (Date.now() - warnedAt < 60_000) return;
    warnedAt = Date.now();
    log?.warn(
      { err },
      "the login limits' shared counts could not be read or written; this node counts alone meanwhile",
    );
  };
  return new LoginLimiter(limiterOptions(config.auth), systemClock, { counts, onError });
}
