// The backing table of a .fbt file: extensions of file versions (FORMAT.md, "Backing extension"). Version 1 wrote
// each file as a msgpack map; version 2 writes an extension as columns, decoded without a value per file.
import { isAscii } from "node:buffer";
import { crc32 } from "node:zlib";
import { DIGEST_BYTES, binHeader, encodeStr, encodeUint, isMap, isString, isUint } from "./format.js";
import { Malformed, describe } from "./bytes.js";
import type { TraceBackingFile } from "./types.js";
import type { BackingTable } from "../events.js";

export function checkBackingFile(v: unknown): string | undefined {
  if (!isMap(v)) return "is not a map";
  for (const key of ["dev", "ino", "size"] as const) {
    if (!isUint(v[key])) return `${key} must be a non-negative integer below 2^53, got ${JSON.stringify(v[key])}`;
  }
  if (!(v.digest instanceof Uint8Array) || v.digest.length !== DIGEST_BYTES) return `digest must be a bin of ${DIGEST_BYTES} bytes`;
  if (!isString(v.path)) return "path must be a string";
  return undefined;
}


/** `digest` receives a copy of the bytes: msgpackr's Buffers share (and pin) the whole block they were read from. */
export function backingFileOf(v: Record<string, unknown>, digest: Uint8Array): TraceBackingFile {
  digest.set(v.digest as Uint8Array);
  return { dev: v.dev as number, ino: v.ino as number, digest, size: v.size as number, path: v.path as string };
}

/** A version 1 extension's files (a msgpack map each), checked. */
export function backingOf(fields: Map<string, unknown>, tableSize: number): TraceBackingFile[] {
  const first = fields.get("first");
  const files = fields.get("files");
  if (first !== tableSize) throw new Malformed(`first is ${describe(first)}, but the backing table has ${tableSize} entries here`);
  if (!Array.isArray(files)) throw new Malformed(`files is ${describe(files)}, expected an array`);
  // One buffer for the extension's digests: a separate ArrayBuffer per 32-byte digest costs ~1 KB each.
  const digests = new Uint8Array(files.length * DIGEST_BYTES);
  return files.map((f: unknown, i) => {
    const bad = checkBackingFile(f);
    if (bad !== undefined) throw new Malformed(`backing file ${tableSize + i}: ${bad}`);
    return backingFileOf(f as Record<string, unknown>, digests.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES));
  });
}

// ---- Version 2: an extension's files as columns ----

/** The columns of a version 2 extension in file and CRC order, with their element size (path: bytes). */
export const BACKING_COLUMNS = [["dev", 8], ["ino", 8], ["size", 8], ["digest", DIGEST_BYTES], ["path_end", 4], ["path", 1]] as const;

/** Values of the u64 columns are uints (below 2^53): their high word is below 2^21. */
const MAX_HIGH_WORD = 1 << 21;

function u64Column(files: readonly TraceBackingFile[], key: "dev" | "ino" | "size"): Uint8Array {
  const words = new Uint32Array(files.length * 2);
  files.forEach((f, i) => {
    words[2 * i] = f[key] % 0x100000000;
    words[2 * i + 1] = Math.floor(f[key] / 0x100000000);
  });
  return new Uint8Array(words.buffer);
}

/**
 * A version 2 extension as byte strings to write in order (the map's small fields, then each column's key and bin
 * header followed by its bytes). The files were checked by checkBackingFile.
 */
export function encodeBackingColumns(first: number, files: readonly TraceBackingFile[]): Uint8Array[] {
  const paths = files.map((f) => Buffer.from(f.path, "utf8"));
  const pathEnd = new Uint32Array(files.length);
  let end = 0;
  paths.forEach((p, i) => { end += p.length; pathEnd[i] = end; });
  const digests = new Uint8Array(files.length * DIGEST_BYTES);
  files.forEach((f, i) => digests.set(f.digest, i * DIGEST_BYTES));
  const columns: Record<(typeof BACKING_COLUMNS)[number][0], Uint8Array> = {
    dev: u64Column(files, "dev"), ino: u64Column(files, "ino"), size: u64Column(files, "size"), digest: digests,
    path_end: new Uint8Array(pathEnd.buffer), path: Buffer.concat(paths),
  };
  let crc = 0;
  for (const [name] of BACKING_COLUMNS) crc = crc32(columns[name], crc);
  const parts: Uint8Array[] = [Buffer.concat([
    Buffer.from([0x80 | (4 + BACKING_COLUMNS.length)]),
    encodeStr("kind"), encodeStr("backing"), encodeStr("first"), encodeUint(first),
    encodeStr("count"), encodeUint(files.length), encodeStr("crc32"), encodeUint(crc),
  ])];
  for (const [name] of BACKING_COLUMNS) parts.push(Buffer.concat([encodeStr(name), binHeader(columns[name].length)]), columns[name]);
  return parts;
}

/** Reads a u64 LE column's values as numbers; a reason naming the file when one is 2^53 or more. */
function u64Values(bytes: Uint8Array, name: string, first: number): Float64Array {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2);
  const out = new Float64Array(words.length >> 1);
  for (let i = 0; i < out.length; i++) {
    const hi = words[2 * i + 1];
    if (hi >= MAX_HIGH_WORD) throw new Malformed(`backing file ${first + i}: ${name} must be below 2^53`);
    out[i] = hi * 0x100000000 + words[2 * i];
  }
  return out;
}

/** An aligned copy: a bin read out of the block buffer may sit at any offset, and the pool may reuse it. */
function ownCopy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** A version 2 extension decoded and checked, still as columns: what a consumer of many files reads best. */
export interface BackingColumns extends BackingTable {
  size: Float64Array;
  /** File i's path is path[pathEnd[i-1] (0 for the first) .. pathEnd[i]), UTF-8. */
  pathEnd: Uint32Array;
  path: Buffer;
}

/** A version 2 extension's columns, checked: its count, column lengths, CRC, values and path offsets. */
export function backingColumnsOf(fields: Map<string, unknown>, tableSize: number): BackingColumns {
  const first = fields.get("first");
  const n = fields.get("count");
  const crc = fields.get("crc32");
  if (first !== tableSize) throw new Malformed(`first is ${describe(first)}, but the backing table has ${tableSize} entries here`);
  if (!isUint(n)) throw new Malformed(`count is ${describe(n)}, expected a non-negative integer`);
  if (!isUint(crc) || crc > 0xffffffff) throw new Malformed(`crc32 is ${describe(crc)}, expected a u32`);
  const col = {} as Record<(typeof BACKING_COLUMNS)[number][0], Uint8Array>;
  let actual = 0;
  for (const [name, size] of BACKING_COLUMNS) {
    const bytes = fields.get(name);
    if (!(bytes instanceof Uint8Array)) throw new Malformed(`column ${name} is ${describe(bytes)}, expected a bin`);
    if (name !== "path" && bytes.length !== n * size) {
      throw new Malformed(`inconsistent column lengths: column ${name} has ${bytes.length} bytes, expected ${size} × ${n} files = ${n * size}`);
    }
    col[name] = ownCopy(bytes);
    actual = crc32(col[name], actual);
  }
  if (actual !== crc) throw new Malformed(`CRC-32 of the columns is ${hex32(actual)}, the extension says ${hex32(crc)} (corrupt data)`);
  const pathEnd = new Uint32Array(col.path_end.buffer, 0, n);
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = pathEnd[i];
    if (end < start || end > col.path.length) {
      throw new Malformed(`backing file ${first + i}: path_end ${end} is outside the path bytes ${start}–${col.path.length}`);
    }
    start = end;
  }
  if (start !== col.path.length) throw new Malformed(`the path column has ${col.path.length - start} bytes after the last path`);
  return {
    count: n, dev: u64Values(col.dev, "dev", first), ino: u64Values(col.ino, "ino", first), size: u64Values(col.size, "size", first),
    digest: col.digest, pathEnd, path: Buffer.from(col.path.buffer, 0, col.path.length),
  };
}

/** The files of checked columns, one object each (a digest view and a path string per file). */
export function backingFilesOf(c: BackingColumns): TraceBackingFile[] {
  // ASCII paths (the usual case) are cut out of one decoded string; others are decoded one by one.
  const whole = isAscii(c.path) ? c.path.toString("latin1") : undefined;
  const files = new Array<TraceBackingFile>(c.count);
  let start = 0;
  for (let i = 0; i < c.count; i++) {
    const end = c.pathEnd[i];
    const path = whole !== undefined ? whole.slice(start, end) : c.path.toString("utf8", start, end);
    files[i] = { dev: c.dev[i], ino: c.ino[i], digest: c.digest.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES), size: c.size[i], path };
    start = end;
  }
  return files;
}

/**
 * A version 2 extension as a reader yields it: `files` is made at its first use (an own enumerable property, so
 * the item looks like any other), and `columns` (not enumerable) serves consumers that read the columns directly.
 */
export function backingItem(first: number, columns: BackingColumns): { kind: "backing"; first: number; files: TraceBackingFile[]; columns: BackingColumns } {
  let files: TraceBackingFile[] | undefined;
  const item = { kind: "backing" as const, first } as { kind: "backing"; first: number; files: TraceBackingFile[]; columns: BackingColumns };
  Object.defineProperty(item, "files", { enumerable: true, get: () => (files ??= backingFilesOf(columns)) });
  Object.defineProperty(item, "columns", { enumerable: false, value: columns });
  return item;
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}
