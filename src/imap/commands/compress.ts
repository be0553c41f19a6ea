/** COMPRESS DEFLATE (RFC 4978): compress both directions of the connection from the next byte on. */
import type { ParseContext } from '../wire/commands.js';
import { AUTHED, command } from './types.js';

export const compress = command({
  name: 'COMPRESS',
  parse: parseCompress,
  states: AUTHED,
  run(s, tag, cmd) {
    if (cmd.mechanism.toUpperCase() !== 'DEFLATE')
      return s.no(tag, `Unknown compression mechanism ${cmd.mechanism}; use DEFLATE`, 'CANNOT');
    if (s.conn.compressed) return s.no(tag, 'Compression is already active', 'COMPRESSIONACTIVE');
    s.ok(tag, 'DEFLATE active');
    // RFC 4978 §3: compression starts right after the tagged OK's CRLF, in both directions.
    s.conn.compress();
    s.conn.trace.note('COMPRESS=DEFLATE active (the lines shown are decompressed)');
  },
});

/** RFC 4978 §3: the compression algorithm (only DEFLATE exists). */
export interface CompressCommand {
  name: 'COMPRESS';
  mechanism: string;
}

/** RFC 4978 §4: `compress = "COMPRESS" SP algorithm`. */
function parseCompress({ r }: ParseContext): CompressCommand {
  r.sp('after COMPRESS');
  return { name: 'COMPRESS', mechanism: r.keyword('a compression algorithm') };
}
