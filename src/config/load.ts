/**
 * Loading the configuration: defaults < config file (TOML) < environment < command-line flags.
 *
 * The file is `--config PATH`, else $POSTBODE_CONFIG, else ./postbode.toml when it exists.
 * Errors are thrown as ConfigError with one line per problem, naming the setting.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import type { z } from 'zod';
import { type Config, configSchema, LISTENER_NAMES, type ListenerName } from './schema.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Settings given on the command line; each overrides the file. */
export interface ConfigOverrides {
  config?: string;
  dataDir?: string;
  hostname?: string;
  domains?: string[];
  /** `NAME=HOST:PORT` or `NAME=off`. */
  listen?: string[];
  strictness?: 'lab' | 'strict';
  /** `--classroom`: lab.classroom = true. */
  classroom?: boolean;
  /** Generic `key.sub=value` settings (values parsed as JSON when possible). */
  set?: string[];
  /** `--store URL`: store.url. */
  storeUrl?: string;
  /** `--node NAME`: store.node. */
  node?: string;
}

export interface LoadedConfig {
  config: Config;
  /** The file read, if any. */
  file: string | null;
}

export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const file = overrides.config ?? env.POSTBODE_CONFIG ?? (existsSync('postbode.toml') ? 'postbode.toml' : null);
  let raw: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    try {
      raw = parseToml(text) as Record<string, unknown>;
    } catch (err) {
      // smol-toml's TomlError carries the position; its message repeats the lines around it.
      const { line, column } = err as { line?: number; column?: number };
      const where =
        typeof line === 'number' ? ` at line ${line}${typeof column === 'number' ? `, column ${column}` : ''}` : '';
      throw new ConfigError(`config file ${file} is not valid TOML${where}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (env.POSTBODE_DATA_DIR) raw.data_dir = env.POSTBODE_DATA_DIR;
  if (env.POSTBODE_HOSTNAME) raw.hostname = env.POSTBODE_HOSTNAME;
  applyOverrides(raw, overrides);
  const config = parseConfig(raw, file ?? 'the configuration');
  if (file && !path.isAbsolute(config.data_dir) && overrides.dataDir === undefined && !env.POSTBODE_DATA_DIR) {
    // A relative data_dir in a file is relative to the file, so the server finds it from any directory.
    if (raw.data_dir !== undefined) config.data_dir = path.resolve(path.dirname(file), config.data_dir);
  }
  return { config, file };
}

function applyOverrides(raw: Record<string, unknown>, o: ConfigOverrides): void {
  if (o.dataDir !== undefined) raw.data_dir = o.dataDir;
  if (o.hostname !== undefined) raw.hostname = o.hostname;
  if (o.strictness !== undefined) raw.strictness = o.strictness;
  if (o.classroom) {
    raw.lab ??= {};
    if (typeof raw.lab === 'object' && raw.lab !== null) (raw.lab as Record<string, unknown>).classroom = true;
  }
  for (const [key, value] of [
    ['url', o.storeUrl],
    ['node', o.node],
  ] as const) {
    if (value === undefined) continue;
    raw.store ??= {};
    if (typeof raw.store === 'object' && raw.store !== null) (raw.store as Record<string, unknown>)[key] = value;
  }
  if (o.domains?.length) {
    const existing = Array.isArray(raw.domains) ? (raw.domains as string[]) : [];
    raw.domains = [...new Set([...existing, ...o.domains])];
  }
  for (const item of o.listen ?? []) {
    const eq = item.indexOf('=');
    const name = item.slice(0, eq);
    if (eq < 0 || !(LISTENER_NAMES as readonly string[]).includes(name)) {
      throw new ConfigError(
        `--listen ${item}: expected NAME=HOST:PORT or NAME=off, where NAME is one of ${LISTENER_NAMES.join(', ')}`,
      );
    }
    raw.listen ??= {};
    const listen = raw.listen as Record<ListenerName, string>;
    let value = item.slice(eq + 1);
    if (/^\d+$/.test(value)) value = `[::]:${value}`;
    listen[name as ListenerName] = value;
  }
  for (const item of o.set ?? []) {
    const eq = item.indexOf('=');
    if (eq < 1) throw new ConfigError(`--set ${item}: expected key=value, e.g. --set smtp.max_recipients=50`);
    const keys = item.slice(0, eq).split('.');
    const text = item.slice(eq + 1);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // keep as a string
    }
    let node = raw;
    for (const key of keys.slice(0, -1)) {
      node[key] ??= {};
      node = node[key] as Record<string, unknown>;
    }
    node[keys[keys.length - 1]] = value;
  }
}

export function parseConfig(raw: unknown, source = 'the configuration'): Config {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatConfigError(result.error, source));
  const config = result.data;
  config.domains = config.domains.map((d) => d.toLowerCase());
  return config.lab.classroom ? classroomConfig(config) : config;
}

/** The private networks classroom mode allows plaintext logins from: RFC 1918 and RFC 4193 (fc00::/7). */
export const PRIVATE_NETWORKS = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'] as const;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * What classroom mode changes (docs/configuration.md `lab.classroom`): the private networks join
 * `plaintext_networks`, and an `http` listener on loopback moves to all interfaces on the same port.
 */
export function classroomConfig(config: Config): Config {
  const plaintext = [...new Set([...config.plaintext_networks, ...PRIVATE_NETWORKS])];
  let http = config.listen.http;
  if (http !== 'off') {
    const { host, port } = parseListenAddress(http);
    if (LOOPBACK_HOSTS.has(host) || host.startsWith('127.')) http = `[::]:${port}`;
  }
  return { ...config, plaintext_networks: plaintext, listen: { ...config.listen, http } };
}

export function formatConfigError(error: z.ZodError, source: string): string {
  const lines = error.issues.map((issue) => {
    const key = issue.path.join('.') || '(top level)';
    if (issue.code === 'unrecognized_keys') {
      const where = issue.path.length ? `in [${issue.path.join('.')}]` : 'at the top level';
      return `  unknown setting ${where}: ${issue.keys.join(', ')} (see docs/configuration.md for the settings)`;
    }
    return `  ${key}: ${issue.message}`;
  });
  return `invalid settings in ${source}:\n${lines.join('\n')}`;
}

/** Parse `HOST:PORT` (IPv6 in brackets) into its parts. */
export function parseListenAddress(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(value);
  if (!m) throw new ConfigError(`bad listen address ${value}: expected HOST:PORT`);
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}
