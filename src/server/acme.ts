/** The ACME manager as the configuration's `[tls]` acme keys set it up (the logic is in net/acme.ts). */
import { parseListenAddress } from '../config/load.js';
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
  const manager = new AcmeManager({
    dataDir: opts.dataDir,
    names: [...new Set([opts.config.hostname, ...t.acme_names].map((n) => n.toLowerCase()))],
    email: t.acme_email,
    directoryUrl: t.acme_directory,
    renewDays: t.renew_days,
    challengeListen: parseListenAddress(t.acme_http),
    tls: opts.tls,
    log: opts.log,
  });
  await manager.start();
  return manager;
}
