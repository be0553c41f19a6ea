/**
 * The archive format of `postbode backup`: a POSIX ustar archive (POSIX.1-2001 `pax` utility, "ustar
 * Interchange Format"), written and read here so `tar tvf FILE` and `tar xf FILE` work on a backup
 * without postbode.
 *
 * Invariants:
 * - Only regular files (typeflag '0') and directories ('5') are written or accepted; anything else in an
 *   archive (links, devices, pax/GNU extension headers) is refused, so restoring cannot create a link.
 * - Names are relative, use '/', have no empty, '.' or '..' segment; longer than 100 bytes they are split
 *   into the ustar prefix (155) and name (100) fields, and a name that fits neither is refused.
 * - Sizes up to 8 GiB - 1 are octal; larger ones use the base-256 encoding GNU tar and bsdtar read.
 * - The checksum of every header is verified when reading; the archive ends with two zero blocks.
 * - The writer writes to its own new file (flag `wx`, mode 0600) and fsyncs it before `finish` resolves.
 */
import { createHash } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';

const BLOCK = 512;
const OCTAL_SIZE_LIMIT = 8 ** 11;

export type TarEntryType = 'file' | 'directory';

export interface TarEntry {
  name: string;
  type: TarEntryType;
  /** Permission bits as stored (the restore applies its own). */
  mode: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
}

/** The archive is not a ustar file postbode can read, or an entry is unsafe. */
export class TarError extends Error {
  override name = 'TarError';
}

/** Throws unless `name` is a safe relative path (see the header). Directory names may end in '/'. */
export function checkEntryName(name: string): void {
  const trimmed = name.endsWith('/') ? name.slice(0, -1) : name;
  if (trimmed === '' || trimmed.startsWith('/') || trimmed.includes('\\') || trimmed.includes('\0')) {
    throw new TarError(`unsafe name in archive: ${JSON.stringify(name)}`);
  }
  for (const segment of trimmed.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new TarError(`unsafe name in archive: ${JSON.stringify(name)}`);
    }
  }
}

function writeString(block: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new TarError(`"${value}" does not fit a ${length}-byte tar field`);
  bytes.copy(block, offset);
}

/** `digits` octal digits and a NUL (the field is digits + 1 bytes). */
function writeOctal(block: Buffer, offset: number, digits: number, value: number): void {
  writeString(block, offset, digits + 1, `${value.toString(8).padStart(digits, '0')}\0`);
}

function splitName(name: string): { prefix: string; name: string } {
  if (Buffer.byteLength(name) <= 100) return { prefix: '', name };
  // Split at a '/' so that the part after it fits 100 bytes and the part before it 155.
  for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== '') {
      return { prefix, name: rest };
    }
  }
  throw new TarError(`name too long for a ustar archive: ${name}`);
}

/** The 512-byte ustar header of an entry. */
export function encodeHeader(entry: TarEntry): Buffer {
  checkEntryName(entry.name);
  const block = Buffer.alloc(BLOCK);
  const full = entry.type === 'directory' && !entry.name.endsWith('/') ? `${entry.name}/` : entry.name;
  const { prefix, name } = splitName(full);
  writeString(block, 0, 100, name);
  writeOctal(block, 100, 7, entry.mode & 0o7777);
  writeOctal(block, 108, 7, 0); // uid
  writeOctal(block, 116, 7, 0); // gid
  const size = entry.type === 'directory' ? 0 : entry.size;
  if (size < OCTAL_SIZE_LIMIT) {
    writeOctal(block, 124, 11, size);
  } else {
    // Base-256: the high bit of the first byte set, the value big-endian in the remaining 11 bytes.
    block[124] = 0x80;
    let rest = BigInt(size);
    for (let i = 135; i > 124; i--) {
      block[i] = Number(rest & 0xffn);
      rest >>= 8n;
    }
  }
  writeOctal(block, 136, 11, Math.max(0, Math.floor(entry.mtime)));
  block.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
  block[156] = entry.type === 'directory' ? 0x35 : 0x30;
  writeString(block, 257, 6, 'ustar\0');
  writeString(block, 263, 2, '00');
  writeString(block, 345, 155, prefix);
  let sum = 0;
  for (const byte of block) sum += byte;
  writeString(block, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return block;
}

function readString(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

function readNumber(block: Buffer, offset: number, length: number, what: string): number {
  if (block[offset] & 0x80) {
    let value = 0n;
    for (let i = offset + 1; i < offset + length; i++) value = (value << 8n) | BigInt(block[i]);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new TarError(`${what} too large in tar header`);
    return Number(value);
  }
  const text = readString(block, offset, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarError(`bad ${what} in tar header: ${JSON.stringify(text)}`);
  return Number.parseInt(text, 8);
}

/** Parses a header block; null for a zero block (the end of the archive). */
export function decodeHeader(block: Buffer): TarEntry | null {
  if (block.every((b) => b === 0)) return null;
  const text = readString(block, 148, 8).trim();
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  if (!/^[0-7]{1,7}$/.test(text) || Number.parseInt(text, 8) !== sum) {
    throw new TarError('not a tar archive, or a damaged one (a header checksum does not match)');
  }
  if (readString(block, 257, 6) !== 'ustar') throw new TarError('not a ustar archive');
  const typeflag = String.fromCharCode(block[156]);
  const type: TarEntryType | null =
    typeflag === '0' || typeflag === '\0' ? 'file' : typeflag === '5' ? 'directory' : null;
  const prefix = readString(block, 345, 155);
  const base = readString(block, 0, 100);
  const name = prefix ? `${prefix}/${base}` : base;
  if (type === null) throw new TarError(`unsupported entry type '${typeflag}' for ${JSON.stringify(name)}`);
  checkEntryName(name);
  return {
    name: name.endsWith('/') ? name.slice(0, -1) : name,
    type,
    mode: readNumber(block, 100, 8, 'mode'),
    size: type === 'directory' ? 0 : readNumber(block, 124, 12, 'size'),
    mtime: readNumber(block, 136, 12, 'mtime'),
  };
}

const padding = (size: number) => (BLOCK - (size % BLOCK)) % BLOCK;

/** Writes an archive entry by entry (see the header). */
export class TarWriter {
  #position = 0;
  private constructor(private readonly handle: FileHandle) {}

  /** Creates `file`, which must not exist. */
  static async create(file: string): Promise<TarWriter> {
    return new TarWriter(await open(file, 'wx', 0o600));
  }

  get bytesWritten(): number {
    return this.#position;
  }

  async #write(data: Buffer): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      const { bytesWritten } = await this.handle.write(data, offset, data.length - offset, this.#position);
      offset += bytesWritten;
      this.#position += bytesWritten;
    }
  }

  async addDirectory(name: string, mtime = Date.now() / 1000): Promise<void> {
    await this.#write(encodeHeader({ name, type: 'directory', mode: 0o700, size: 0, mtime }));
  }

  async addBuffer(name: string, data: Buffer, mtime = Date.now() / 1000): Promise<void> {
    await this.#write(encodeHeader({ name, type: 'file', mode: 0o600, size: data.length, mtime }));
    await this.#write(data);
    await this.#write(Buffer.alloc(padding(data.length)));
  }

  /** Copies `source` (which must not change meanwhile) into the archive; resolves to its SHA-256. */
  async addFile(name: string, source: string, size: number, mtime = Date.now() / 1000): Promise<string> {
    await this.#write(encodeHeader({ name, type: 'file', mode: 0o600, size, mtime }));
    const hash = createHash('sha256');
    const input = await open(source, 'r');
    try {
      const chunk = Buffer.alloc(1 << 20);
      let copied = 0;
      while (copied < size) {
        const { bytesRead } = await input.read(chunk, 0, Math.min(chunk.length, size - copied), copied);
        if (bytesRead === 0) throw new TarError(`${source} became shorter while it was archived`);
        const part = chunk.subarray(0, bytesRead);
        hash.update(part);
        await this.#write(part);
        copied += bytesRead;
      }
    } finally {
      await input.close();
    }
    await this.#write(Buffer.alloc(padding(size)));
    return hash.digest('hex');
  }

  /** Writes the end-of-archive blocks, fsyncs and closes. */
  async finish(): Promise<void> {
    await this.#write(Buffer.alloc(2 * BLOCK));
    await this.handle.sync();
    await this.handle.close();
  }

  /** Closes without finishing (the caller removes the file). */
  async abort(): Promise<void> {
    await this.handle.close().catch(() => {});
  }
}

/** One entry while reading: its header and a way to consume its content. */
export interface TarReadEntry extends TarEntry {
  /** Writes the content to `file` (created new with `mode`), fsynced; resolves to its SHA-256. */
  copyTo(file: string, mode: number): Promise<string>;
  /** The content in memory; refused above `max` bytes. */
  buffer(max: number): Promise<Buffer>;
}

/**
 * Reads `file` entry by entry. Content an `onEntry` call does not consume is skipped. Throws TarError
 * for a damaged or unsupported archive, including one that ends without its end-of-archive block.
 */
export async function readTar(file: string, onEntry: (entry: TarReadEntry) => Promise<void>): Promise<void> {
  const handle = await open(file, 'r');
  try {
    const { size: total } = await handle.stat();
    let position = 0;
    const header = Buffer.alloc(BLOCK);
    for (;;) {
      if (position + BLOCK > total) throw new TarError('the archive is truncated (no end-of-archive block)');
      await readExactly(handle, header, position);
      position += BLOCK;
      const entry = decodeHeader(header);
      if (entry === null) return;
      const start = position;
      if (start + entry.size > total) throw new TarError(`the archive is truncated inside ${entry.name}`);
      await onEntry({
        ...entry,
        copyTo: (target, mode) => copyOut(handle, start, entry.size, target, mode),
        buffer: async (max) => {
          if (entry.size > max) throw new TarError(`${entry.name} is larger than expected (${entry.size} bytes)`);
          const data = Buffer.alloc(entry.size);
          await readExactly(handle, data, start);
          return data;
        },
      });
      position = start + entry.size + padding(entry.size);
    }
  } finally {
    await handle.close();
  }
}

async function readExactly(handle: FileHandle, target: Buffer, position: number): Promise<void> {
  let offset = 0;
  while (offset < target.length) {
    const { bytesRead } = await handle.read(target, offset, target.length - offset, position + offset);
    if (bytesRead === 0) throw new TarError('the archive is truncated');
    offset += bytesRead;
  }
}

async function copyOut(source: FileHandle, start: number, size: number, target: string, mode: number): Promise<string> {
  const hash = createHash('sha256');
  const out = await open(target, 'wx', mode);
  try {
    const chunk = Buffer.alloc(1 << 20);
    let copied = 0;
    while (copied < size) {
      const part = chunk.subarray(0, Math.min(chunk.length, size - copied));
      await readExactly(source, part, start + copied);
      hash.update(part);
      let written = 0;
      while (written < part.length) {
        const r = await out.write(part, written, part.length - written, copied + written);
        written += r.bytesWritten;
      }
      copied += part.length;
    }
    await out.sync();
  } finally {
    await out.close();
  }
  return hash.digest('hex');
}
