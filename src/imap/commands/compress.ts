/** COMPRESS DEFLATE (RFC 4978): compress both directions of the connection from the next byte on. */
import { AUTHED, command } from './types.js';

export const compress = command({
  name: 'COMPRESS',
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
