/** The ACME manager as the configuration's `[tls]` acme keys set it up (the logic is in net/acme.ts). */
import { ConfigError, parseListenAddress } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { AcmeManager } from '../net/acme.js';
import type { CurrentCertificate } from '../net/tls.js';

/**
 * The ACME manager as the configuration sets it up (`[tls]` acme keys), started: it serves a stored
 * certificate at once and obtains or renews one in the background.
 */
export async function startAcme(opts: {
  config: Config;
  dataDir: string;
  tls: CurrentCertificate;
  log: Logger;
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
  });
  await manager.start();
  return manager;
}
