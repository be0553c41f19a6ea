/**
 * What the ManageSieve engine needs from the rest of the server: the credential checks of AuthService
 * (the SASL exchange and the shared login limiter, as IMAP and POP3), the account's scripts in the
 * store, and the Sieve compiler (src/sieve) to check a script before it is kept.
 *
 * Contract:
 * - `store.sieve` is the store's `SieveStore` (src/store/types.ts): at most one active script per
 *   account, `delete` refuses the active one, `rename` refuses a taken name.
 * - `compile` is the compiler the delivery runs scripts with, set to the server's limits (script
 *   size, redirects), so a script this engine accepts is one delivery can run; it is pure and cheap
 *   enough to call on every PUTSCRIPT, CHECKSCRIPT and SETACTIVE.
 */
import type { SaslAuth } from '../auth/sasl.js';
import type { CompileResult } from '../sieve/types.js';
import type { Store } from '../store/types.js';

export interface ManageSieveUser {
  id: number;
  /** The account's address: the OWNER capability (RFC 5804 §1.7), replies and logs. */
  address: string;
}

/** The parts of AuthService (src/auth/service.ts) the engine uses. */
export interface ManageSieveAuth extends SaslAuth<ManageSieveUser> {
  /** Whether PLAIN and LOGIN may be used on this connection (TLS or a trusted network). */
  plaintextAllowed(conn: { secure: boolean; remoteAddress: string }): boolean;
}

/** The Store, narrowed to what ManageSieve uses: the scripts. */
export type ManageSieveStore = Pick<Store, 'sieve'>;

export interface ManageSieveBackend {
  auth: ManageSieveAuth;
  store: ManageSieveStore;
  /** Parses and validates a script (src/sieve `compile` with the server's limits). */
  compile(source: string): CompileResult;
}
