import type { SmtpSession } from '../session.js';

/** One SMTP command: its verb and its handler. `args` is the text after the verb. */
export interface SmtpCommand {
  readonly verb: string;
  /** One-line description for HELP, with the RFC that defines it. */
  readonly help: string;
  run(session: SmtpSession, args: string): Promise<void> | void;
}
