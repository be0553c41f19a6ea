import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BytesResult, ReadResult } from '../../net/connection.js';
import {
  type AssembledCommand,
  CommandAssembler,
  classifyLineEnd,
  type FrameSource,
  type FrameStep,
  literalAnnouncement,
  peekTagAndName,
  type ReadCommandResult,
  readCommand,
  traceLines,
} from './framing.js';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('literalAnnouncement', () => {
  const cases: [string, ReturnType<typeof literalAnnouncement>][] = [
    ['A1 LOGIN {5}', { size: 5, nonSync: false, binary: false }],
    ['A1 LOGIN {5+}', { size: 5, nonSync: true, binary: false }],
    ['A1 APPEND INBOX ~{12}', { size: 12, nonSync: false, binary: true }],
    ['A1 APPEND INBOX ~{12+}', { size: 12, nonSync: true, binary: true }],
    ['A1 LOGIN {0}', { size: 0, nonSync: false, binary: false }],
    ['{7}', { size: 7, nonSync: false, binary: false }],
    ['a {007}', { size: 7, nonSync: false, binary: false }],
    ['a {9223372036854775807}', { size: Number.MAX_SAFE_INTEGER, nonSync: false, binary: false }],
    // Not announcements:
    ['A1 LOGIN {5-}', null], // LITERAL- reuses {n+} (RFC 7888); "{n-}" is not IMAP syntax
    ['A1 LOGIN {5} ', null],
    ['A1 LOGIN {5}x', null],
    ['A1 LOGIN {}', null],
    ['A1 LOGIN {+}', null],
    ['A1 LOGIN { 5}', null],
    ['A1 LOGIN {x5}', null],
    ['A1 LOGIN {+5}', null],
    ['A1 LOGIN {5++}', null],
    ['A1 LOGIN {9223372036854775808}', null],
    ['A1 LOGIN {12345678901234567890}', null],
    // number64 is 1*DIGIT: leading zeros are allowed, and do not count against the 19 digits.
    ['A1 LOGIN {00000000000000000000005}', { size: 5, nonSync: false, binary: false }],
    ['A1 LOGIN "{5}"', null],
    ['A1 LOGIN a}', null],
    ['A1 LOGIN {5}}', null],
    ['', null],
    ['}', null],
  ];
  for (const [line, want] of cases) {
    it(`${JSON.stringify(line)} → ${want ? JSON.stringify(want) : 'null'}`, () => {
      assert.deepEqual(literalAnnouncement(b(line)), want);
    });
  }

  it('tells brace junk apart from no announcement', () => {
    assert.equal(classifyLineEnd(b('a {5-}')).kind, 'malformed');
    assert.equal(classifyLineEnd(b('a {abc}')).kind, 'malformed');
    assert.equal(classifyLineEnd(b('a {}')).kind, 'malformed');
    assert.equal(classifyLineEnd(b('a {99999999999999999999}')).kind, 'malformed');
    assert.equal(classifyLineEnd(b('a b}')).kind, 'none');
    assert.equal(classifyLineEnd(b('a {5} ')).kind, 'none');
    assert.deepEqual(classifyLineEnd(b('x ~{3}')), {
      kind: 'literal',
      literal: { size: 3, nonSync: false, binary: true },
      start: 2,
    });
  });
});

describe('peekTagAndName', () => {
  it('finds tag and command word', () => {
    assert.deepEqual(peekTagAndName(b('A1 login x')), ['A1', 'LOGIN']);
    assert.deepEqual(peekTagAndName(b('A1 uid fetch 1 x')), ['A1', 'UID FETCH']);
    assert.deepEqual(peekTagAndName(b('A1')), ['A1', null]);
    assert.deepEqual(peekTagAndName(b('+A1 NOOP')), [null, null]);
    assert.deepEqual(peekTagAndName(b('* NOOP')), [null, null]);
  });
});

/** Feeds a whole client stream to an assembler the way a session would, answering every step. */
function assembleAll(wire: Buffer, assembler = new CommandAssembler()): { steps: FrameStep[]; rest: Buffer } {
  const steps: FrameStep[] = [];
  let pos = 0;
  for (;;) {
    const lf = wire.indexOf(0x0a, pos);
    if (lf < 0) break;
    const line = wire.subarray(pos, lf > pos && wire[lf - 1] === 0x0d ? lf - 1 : lf);
    pos = lf + 1;
    let step = assembler.pushLine(line);
    steps.push(step);
    while (step.kind === 'literal' || step.kind === 'discard') {
      const bytes = wire.subarray(pos, pos + step.size);
      pos += step.size;
      assembler.pushLiteral(step.kind === 'literal' ? bytes : null);
      const lf2 = wire.indexOf(0x0a, pos);
      if (lf2 < 0) return { steps, rest: wire.subarray(pos) };
      const next = wire.subarray(pos, wire[lf2 - 1] === 0x0d ? lf2 - 1 : lf2);
      pos = lf2 + 1;
      step = assembler.pushLine(next);
      steps.push(step);
    }
  }
  return { steps, rest: wire.subarray(pos) };
}

function completed(steps: FrameStep[]): AssembledCommand[] {
  return steps.flatMap((s) => (s.kind === 'complete' ? [s.command] : []));
}

describe('CommandAssembler', () => {
  it('assembles a command without literals', () => {
    const a = new CommandAssembler();
    const step = a.pushLine(b('A1 NOOP'));
    assert.equal(step.kind, 'complete');
    assert.ok(step.kind === 'complete');
    assert.equal(step.command.data.toString(), 'A1 NOOP');
    assert.deepEqual(step.command.literals, []);
    assert.equal(step.command.tag, 'A1');
    assert.equal(step.command.name, 'NOOP');
  });

  it('asks for a continuation for a synchronizing literal only', () => {
    const a = new CommandAssembler();
    assert.deepEqual(a.pushLine(b('A1 LOGIN {5}')), {
      kind: 'literal',
      size: 5,
      binary: false,
      nonSync: false,
      continuation: true,
    });
    assert.equal(a.expecting, 'literal');
    a.pushLiteral(b('smith'));
    assert.deepEqual(a.pushLine(b(' {6+}')), {
      kind: 'literal',
      size: 6,
      binary: false,
      nonSync: true,
      continuation: false,
    });
    a.pushLiteral(b('sesame'));
    const done = a.pushLine(b(''));
    assert.ok(done.kind === 'complete');
    assert.equal(done.command.data.toString(), 'A1 LOGIN {5}\r\nsmith {6+}\r\nsesame');
    assert.deepEqual(done.command.literals, [
      { offset: 14, size: 5, binary: false, nonSync: false },
      { offset: 26, size: 6, binary: false, nonSync: true },
    ]);
    assert.deepEqual(traceLines(done.command), ['A1 LOGIN {5}', '<5 bytes>', ' {6+}', '<6 bytes>', '']);
  });

  it('keeps literal bytes exact: CRLF, NUL, 8-bit and brace lookalikes inside', () => {
    const body = Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0x7b, 0x33, 0x7d, 0x0d, 0x0a, 0xc3, 0xa9]);
    const wire = Buffer.concat([b(`A2 APPEND INBOX ~{${body.length}+}\r\n`), body, b('\r\n')]);
    const [cmd] = completed(assembleAll(wire).steps);
    assert.ok(cmd);
    const lit = cmd.literals[0];
    assert.deepEqual(cmd.data.subarray(lit.offset, lit.offset + lit.size), body);
    assert.equal(lit.binary, true);
  });

  it('frames pipelined commands back to back', () => {
    const wire = b('a NOOP\r\nb LOGIN {1+}\r\nx {1+}\r\ny\r\nc LOGOUT\r\n');
    const cmds = completed(assembleAll(wire).steps);
    assert.deepEqual(
      cmds.map((c) => c.data.toString()),
      ['a NOOP', 'b LOGIN {1+}\r\nx {1+}\r\ny', 'c LOGOUT'],
    );
  });

  it('accepts a bare-LF line ending but stores CRLF', () => {
    const cmds = completed(assembleAll(b('a LOGIN {1}\nx y\n')).steps);
    assert.equal(cmds[0].data.toString(), 'a LOGIN {1}\r\nx y');
  });

  it('refuses a synchronizing literal over the limit before the client sends it', () => {
    const a = new CommandAssembler({ maxLiteralSize: 10 });
    const step = a.pushLine(b('A3 LOGIN {11}'));
    assert.ok(step.kind === 'rejected');
    assert.equal(step.error.kind, 'literal-too-big');
    assert.equal(step.error.tag, 'A3');
    assert.equal(step.error.command, 'LOGIN');
    assert.equal(step.error.literalSize, 11);
    assert.equal(step.error.fatal, false);
    assert.match(step.error.message, /11 bytes is over the limit of 10/);
    // Ready for the next command at once.
    assert.equal(a.pushLine(b('A4 NOOP')).kind, 'complete');
  });

  it('discards a refused non-synchronizing literal and the rest of its command', () => {
    const a = new CommandAssembler({ maxLiteralSize: 10 });
    // The literal's bytes hold a fake command: it must never be framed as one.
    const wire = b('A5 APPEND INBOX {22+}\r\nA6 DELETE INBOX\r\n12345 {2+}\r\nxy\r\nA7 NOOP\r\n');
    const { steps } = assembleAll(wire, a);
    assert.deepEqual(
      steps.map((s) => s.kind),
      ['discard', 'discard', 'rejected', 'complete'],
    );
    const rejected = steps[2];
    assert.ok(rejected.kind === 'rejected');
    assert.equal(rejected.error.kind, 'literal-too-big');
    assert.equal(rejected.error.tag, 'A5');
    const done = steps[3];
    assert.ok(done.kind === 'complete');
    assert.equal(done.command.data.toString(), 'A7 NOOP');
  });

  it('does not drain a refused non-synchronizing literal far over its limit: the error is fatal', () => {
    const a = new CommandAssembler({ maxLiteralSize: 65536 });
    const { steps } = assembleAll(b('a LOGIN {104857600+}\r\n'), a);
    assert.equal(steps.length, 1);
    const rejected = steps[0];
    assert.ok(rejected.kind === 'rejected');
    assert.equal(rejected.error.kind, 'literal-too-big');
    assert.equal(rejected.error.fatal, true);
    // Up to four times the limit (at least 1 MiB) it is still drained, and the session goes on.
    const near = assembleAll(b('a LOGIN {1000000+}\r\n'), new CommandAssembler({ maxLiteralSize: 65536 }));
    assert.equal(near.steps[0].kind, 'discard');
  });

  it('after a refusal, a later synchronizing literal ends the command (no continuation is sent)', () => {
    const a = new CommandAssembler({ maxLiteralSize: 4 });
    assert.equal(a.pushLine(b('A1 LOGIN {5+}')).kind, 'discard');
    a.pushLiteral(null);
    const step = a.pushLine(b(' {3}'));
    assert.ok(step.kind === 'rejected');
    assert.equal(step.error.kind, 'literal-too-big');
  });

  it('enforces LITERAL- (RFC 7888 §4): non-synchronizing literals up to 4096 bytes', () => {
    const a = new CommandAssembler({ nonSyncLiterals: 'minus' });
    assert.equal(a.pushLine(b('A1 LOGIN {4096+}')).kind, 'literal');
    a.pushLiteral(Buffer.alloc(4096, 0x61));
    assert.equal(a.pushLine(b(' x')).kind, 'complete');
    const big = a.pushLine(b('A2 LOGIN {4097+}'));
    assert.deepEqual(big, { kind: 'discard', size: 4097 });
    a.pushLiteral(null);
    const step = a.pushLine(b(' x'));
    assert.ok(step.kind === 'rejected');
    assert.equal(step.error.kind, 'non-sync-too-big');
    assert.match(step.error.message, /use \{4097\}/);
    // A synchronizing literal of that size is fine.
    assert.equal(a.pushLine(b('A3 LOGIN {4097}')).kind, 'literal');
  });

  it('gives APPEND its own literal limit through a function', () => {
    const a = new CommandAssembler({
      maxLiteralSize: (ctx) => (ctx.command === 'APPEND' ? 1000 : 10),
    });
    assert.equal(a.pushLine(b('A1 APPEND INBOX {500}')).kind, 'literal');
    a.pushLiteral(Buffer.alloc(500));
    assert.equal(a.pushLine(b('')).kind, 'complete');
    assert.equal(a.pushLine(b('A2 LOGIN {500}')).kind, 'rejected');
  });

  it('limits the number of literals and the command size', () => {
    const few = new CommandAssembler({ maxLiterals: 1 });
    assert.equal(few.pushLine(b('A1 LOGIN {1}')).kind, 'literal');
    few.pushLiteral(b('u'));
    const step = few.pushLine(b(' {1}'));
    assert.ok(step.kind === 'rejected');
    assert.equal(step.error.kind, 'too-many-literals');

    const small = new CommandAssembler({ maxCommandSize: 20 });
    const long = small.pushLine(b('A1 LOGIN verylongusername password'));
    assert.ok(long.kind === 'rejected' && long.error.kind === 'command-too-big');
    const lit = small.pushLine(b('A2 LOGIN {10}'));
    assert.ok(lit.kind === 'rejected' && lit.error.kind === 'command-too-big');
  });

  it('rejects brace junk at a line end as a non-fatal syntax problem', () => {
    const a = new CommandAssembler();
    const step = a.pushLine(b('A1 LOGIN {5-}'));
    assert.ok(step.kind === 'rejected');
    assert.equal(step.error.kind, 'malformed-literal');
    assert.equal(step.error.fatal, false);
  });

  it('makes an over-long line fatal (its end, and any literal, is unknown)', () => {
    const a = new CommandAssembler();
    assert.equal(a.pushLine(b('A1 LOGIN {1}')).kind, 'literal');
    a.pushLiteral(b('x'));
    const step = a.lineTooLong(8192);
    assert.ok(step.kind === 'rejected');
    assert.equal(step.error.kind, 'line-too-long');
    assert.equal(step.error.fatal, true);
    assert.equal(step.error.tag, 'A1');
    assert.equal(a.inProgress, false);
  });

  it('throws on parts fed out of order (a programming error)', () => {
    const a = new CommandAssembler();
    assert.throws(() => a.pushLiteral(b('x')), /a line was expected/);
    a.pushLine(b('A1 LOGIN {2}'));
    assert.throws(() => a.pushLine(b('x')), /a literal was expected/);
    assert.throws(() => a.pushLiteral(b('x')), /expected 2 literal bytes/);
  });
});

/**
 * A FrameSource with Connection's semantics (net/connection.ts) over a byte stream that arrives one
 * byte per event-loop turn.
 */
class TrickleSource implements FrameSource {
  #input: Buffer;
  #delivered = 0;
  #buf = Buffer.alloc(0);
  events: string[] = [];

  constructor(input: Buffer) {
    this.#input = input;
  }

  get delivered(): number {
    return this.#delivered;
  }

  async #more(): Promise<boolean> {
    if (this.#delivered >= this.#input.length) return false;
    await new Promise((r) => setImmediate(r));
    this.#buf = Buffer.concat([this.#buf, this.#input.subarray(this.#delivered, this.#delivered + 1)]);
    this.#delivered++;
    return true;
  }

  async readLine(maxLength: number): Promise<ReadResult> {
    for (;;) {
      const lf = this.#buf.indexOf(0x0a);
      if (lf >= 0) {
        const crlf = lf > 0 && this.#buf[lf - 1] === 0x0d;
        const line = this.#buf.subarray(0, crlf ? lf - 1 : lf);
        this.#buf = this.#buf.subarray(lf + 1);
        if (lf + 1 > maxLength) return { kind: 'too-long' };
        this.events.push(`line ${line.toString('latin1')}`);
        return { kind: 'line', line, ending: crlf ? 'crlf' : 'lf' };
      }
      if (!(await this.#more())) return { kind: 'eof' };
    }
  }

  async readBytes(count: number, maxBytes = Number.POSITIVE_INFINITY): Promise<BytesResult> {
    while (this.#buf.length < count) if (!(await this.#more())) return { kind: 'eof' };
    const data = this.#buf.subarray(0, count);
    this.#buf = this.#buf.subarray(count);
    this.events.push(`bytes ${count}`);
    return { kind: 'bytes', data: count <= maxBytes ? data : null, size: count };
  }
}

describe('readCommand, one byte at a time', () => {
  it('frames a stream of commands with every kind of literal', async () => {
    const body = Buffer.from('From: a@b\r\n\r\nhi {2}\r\n\x00\xff', 'latin1');
    const wire = Buffer.concat([
      b('a1 LOGIN {4}\r\nuser {6+}\r\nsecret\r\n'),
      b(`a2 APPEND INBOX (\\Seen) ~{${body.length}}\r\n`),
      body,
      b('\r\n'),
      b('a3 NOOP\n'),
      b('a4 LOGIN {3}\r\nab'), // cut off inside a literal
    ]);
    const src = new TrickleSource(wire);
    const assembler = new CommandAssembler();
    const continuations: number[] = [];
    const opts = {
      maxLineLength: 8192,
      continuation: () => {
        // The continuation must come before any byte of the literal has been read by the server.
        continuations.push(src.delivered);
        src.events.push('+');
      },
    };
    const results: ReadCommandResult[] = [];
    for (;;) {
      const r = await readCommand(src, assembler, opts);
      results.push(r);
      if (r.kind === 'eof' || r.kind === 'timeout') break;
    }
    assert.deepEqual(
      results.map((r) => r.kind),
      ['command', 'command', 'command', 'eof'],
    );
    const [c1, c2, c3] = results.map((r) => (r.kind === 'command' ? r.command : null));
    assert.equal(c1?.data.toString(), 'a1 LOGIN {4}\r\nuser {6+}\r\nsecret');
    assert.equal(c2?.name, 'APPEND');
    const lit = c2!.literals[0];
    assert.deepEqual(c2!.data.subarray(lit.offset, lit.offset + lit.size), body);
    assert.equal(c3?.data.toString(), 'a3 NOOP');
    // One continuation for a1's {4}, one for a2's ~{n}, one for a4's {3}; none for {6+}.
    assert.equal(continuations.length, 3);
    assert.deepEqual(src.events.slice(0, 5), ['line a1 LOGIN {4}', '+', 'bytes 4', 'line  {6+}', 'bytes 6']);
  });

  it('discards the literal of a refused non-synchronizing command and keeps going', async () => {
    const wire = b('a1 APPEND INBOX {20+}\r\na2 DELETE INBOX\r\nxx\r\na3 NOOP\r\n');
    const src = new TrickleSource(wire);
    const assembler = new CommandAssembler({ maxLiteralSize: 5 });
    const opts = { maxLineLength: 100, continuation: () => assert.fail('no continuation expected') };
    const first = await readCommand(src, assembler, opts);
    assert.ok(first.kind === 'rejected');
    assert.equal(first.error.tag, 'a1');
    const second = await readCommand(src, assembler, opts);
    assert.ok(second.kind === 'command');
    assert.equal(second.command.data.toString(), 'a3 NOOP');
  });

  it('reports an over-long line as fatal', async () => {
    const src = new TrickleSource(b(`a1 LOGIN ${'x'.repeat(50)}\r\na2 NOOP\r\n`));
    const r = await readCommand(src, new CommandAssembler(), { maxLineLength: 20, continuation: () => {} });
    assert.ok(r.kind === 'rejected');
    assert.equal(r.error.fatal, true);
  });
});
