/**
 * `compile`: source → parse → validate → a `CompiledScript`, the opaque `SieveScript` callers keep
 * and hand to `run`. Never throws: every problem comes back as a positioned diagnostic, sorted by
 * position.
 */

import type { CheckedScript } from './ast.js';
import { SUPPORTED_EXTENSIONS } from './extensions.js';
import { parse } from './parser.js';
import type { CompileOptions, CompileResult, SieveDiagnostic, SieveLimits, SieveScript } from './types.js';
import { Validator } from './validate.js';

/** The limits of one compile and one run, Pigeonhole's defaults where it has one. */
export const defaultSieveLimits: Readonly<SieveLimits> = Object.freeze({
  maxScriptBytes: 1024 * 1024,
  maxActions: 32,
  maxRedirects: 4,
  maxIncludeDepth: 10,
  maxSteps: 100_000,
  maxVariableBytes: 4096,
  vacationMinSeconds: 86400,
  vacationMaxSeconds: 60 * 86400,
});

/** A script that passed `compile`: its checked tree and the options it was compiled with. */
export class CompiledScript implements SieveScript {
  constructor(
    readonly source: string,
    readonly requires: readonly string[],
    readonly checked: CheckedScript,
    readonly options: Readonly<CompileOptions>,
  ) {}
}

/** "line 3, column 12: expected ';' after the command fileinto" */
export function formatDiagnostic(d: SieveDiagnostic): string {
  return `line ${d.line}, column ${d.column}: ${d.message}`;
}

export function compile(source: string, options: CompileOptions = {}): CompileResult {
  const limits = { ...defaultSieveLimits, ...options.limits };
  const bytes = Buffer.byteLength(source);
  if (bytes > limits.maxScriptBytes)
    return {
      ok: false,
      errors: [
        {
          line: 1,
          column: 1,
          message: `the script is ${bytes} bytes long, more than the limit of ${limits.maxScriptBytes} bytes: make it shorter`,
        },
      ],
    };
  const parsed = parse(source);
  if (!parsed.ok) return { ok: false, errors: [{ ...parsed.pos, message: parsed.message }] };
  const validator = new Validator({ extensions: options.extensions ?? SUPPORTED_EXTENSIONS });
  const checked = validator.validate(parsed.script);
  if (validator.errors.length > 0) {
    const errors = [...validator.errors].sort((a, b) => a.line - b.line || a.column - b.column);
    return { ok: false, errors };
  }
  return { ok: true, script: new CompiledScript(source, checked.requires, checked, options) };
}
