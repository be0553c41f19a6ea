/** The ACME manager as the configuration's `[tls]` acme keys set it up (the logic is in net/acme.ts). */
import { SecretBox } from '../auth/secret.js';
import { ConfigError, parseListenAddress } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { AcmeManager, type SharedCertificates } from '../net/acme.js';
import type { CurrentCertificate } from '../net/tls.js';
import type { Store } from '../store/types.js';

/**
 * The ACME manager as the configuration sets it up (`[tls]` acme keys), started: it serves a stored
 * certificate at once and obtains or renews one in the background. With a store that shares
 * certificates between nodes (PostgreSQL), the certificate is kept there, its key sealed with the data
 * dir's secret.key (the same on every node, checked at start).
 */
export async function startAcme(opts: {
  config: Config;
  dataDir: string;
  tls: CurrentCertificate;
  log: Logger;
  store: Pick<Store, 'certificates'>;
  /** This node's name (`store.node`). */
  node: string;
}): Promise<AcmeManager> {
  const t = opts.config.tls;
  const web = opts.config.listen.http;
  if (t.acme_http === 'off' && (web === 'off' || opts.config.web.https)) {
    // The CA fetches the challenge over plain HTTP (port 80): only a plain web listener can answer it.
    throw new ConfigError(
      'tls.acme_http = "off" makes the http listener answer the ACME challenge, so it must be on and plain HTTP (web.https = false); or set tls.acme_http to an address reached on port 80',
    );
  }
  const manager = new AcmeManager({
    dataDir: opts.dataDir,
    names: [...new Set([opts.config.hostname, ...t.acme_names].map((n) => n.toLowerCase()))],
    email: t.acme_email,
    directoryUrl: t.acme_directory,
    renewDays: t.renew_days,
    challengeListen: t.acme_http === 'off' ? null : parseListenAddress(t.acme_http),
    tls: opts.tls,
    log: opts.log,
    ...(opts.store.certificates
      ? { shared: sharedCertificates(opts.store.certificates, opts.node, opts.dataDir) }
      : {}),
  });
  await manager.start();
  return manager;
}

function sharedCertificates(
  store: NonNullable<Store['certificates']>,
  node: string,
  dataDir: string,
): SharedCertificates {
  const box = SecretBox.open(dataDir);
  return { store, node, seal: (key) => box.seal(key), open: (sealed) => box.open(sealed) };
}
