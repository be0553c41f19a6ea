/** HELP (RFC 5321 §4.1.1.8): the commands this server knows, with where they are defined. */
import { reply } from '../reply.js';
import { ANY_STATE, defineCommand, ok, type SmtpCommand } from './types.js';

export function makeHelp(all: () => SmtpCommand[]): SmtpCommand {
  return defineCommand<string>({
    verb: 'HELP',
    help: 'HELP - this list (RFC 5321 4.1.1.8)',
    states: ANY_STATE,
    /** The topic, upper-cased; '' for the whole list. */
    parse: (args) => ok(args.trim().toUpperCase()),
    run(s, topic) {
      const commands = all();
      const match = commands.find((c) => c.verb === topic);
      if (topic && !match) return s.send(reply(504, '5.5.4', `No help for "${topic.slice(0, 32)}"; try HELP`));
      const lines = match
        ? [match.help]
        : [
            'Commands:',
            ...commands.map((c) => `  ${c.help}`),
            'Replies: 2xx ok, 3xx go on, 4xx try later, 5xx refused',
          ];
      s.send(reply(214, '2.0.0', ...lines));
    },
  });
}
