// The byte-level rules of a .fbt file shared by the writer and the reader (traces/FORMAT.md is the prose).
// Everything a writer refuses the reader also rejects, so the checks live here once.
import { endianness } from "node:os";
import { crc32 } from "node:zlib";
import { TRACE_FORMAT, TRACE_READ_VERSIONS, type TraceChunk, type TraceFooter, type TraceHeader } from "./types.js";

// Columns are stored as the host's typed-array bytes; that is little-endian on every platform Node runs on
// except s390x/ppc64 BE, where we refuse rather than write or read byte-swapped traces.
if (endianness() !== "LE") throw new Error("fbreplay traces need a little-endian host");

/** The last bytes of a file: footer offset u64 LE, footer length u32 LE, footer CRC-32 u32 LE, magic. */
export const TRAILER_SIZE = 20;
export const TRAILER_MAGIC = "FBTR";

/** The event columns in file and CRC order, with their element size in bytes. */
export const COLUMNS = [
  ["op", 1], ["nodeid", 4], ["fh", 4], ["bref", 4], ["oflags", 4], ["fopen", 4], ["pid", 4], ["dt", 4],
] as const;
export type ColumnName = (typeof COLUMNS)[number][0];

/**
 * Columns only captures of a passthrough daemon have: the recorded backing ids and the kernel's verdicts. Written
 * when present, covered by their own CRC (`crc32_recorded`), so readers that know only COLUMNS still read the file.
 */
export const RECORDED_COLUMNS = [["bid", 4], ["verdict", 1]] as const;
export type RecordedColumnName = (typeof RECORDED_COLUMNS)[number][0];

export const DIGEST_BYTES = 32;

/**
 * Rows per chunk a writer of traces makes unless told otherwise (ingest, synth): small enough that the chunks a
 * replay has in flight stay a few MB (the wasm core reads two at a time into its memory, 34 bytes a row), large
 * enough that per-chunk costs vanish. Measured on the 10M-event synthetic trace, five policies: 65,536 rows against
 * 262,144 took 24 MB less peak RSS with two jobs and 4.40 s against 4.69 s with one (bench/README.md).
 */
export const TRACE_CHUNK_ROWS = 1 << 16;

/** A writer splits a large backing table into extensions of at most this many files (keeps each value small). */
export const BACKING_FILES_PER_EXTENSION = 16384;

/** Largest encoded size of any value other than a chunk's column bins; guards the reader against bogus lengths. */
export const MAX_SMALL_VALUE = 1 << 30;

/** Error reasons must be one line; messages of other libraries may not be. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

// ---- Trailer ----

export interface Trailer {
  footerOffset: number;
  footerLength: number;
  footerCrc32: number;
}

export function encodeTrailer(t: Trailer): Buffer {
  const b = Buffer.alloc(TRAILER_SIZE);
  b.writeBigUInt64LE(BigInt(t.footerOffset), 0);
  b.writeUInt32LE(t.footerLength, 8);
  b.writeUInt32LE(t.footerCrc32, 12);
  b.write(TRAILER_MAGIC, 16, "latin1");
  return b;
}

/** Decodes the trailer; returns a reason string when the bytes are not one. */
export function decodeTrailer(b: Buffer): Trailer | string {
  const magic = b.toString("latin1", 16, 20);
  if (magic !== TRAILER_MAGIC) {
    return `no "${TRAILER_MAGIC}" trailer at the end of the file (found ${JSON.stringify(magic)}): the file is truncated, has bytes appended, or is not an fbreplay trace`;
  }
  const offset = b.readBigUInt64LE(0);
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) return `footer offset ${offset} is out of range`;
  return { footerOffset: Number(offset), footerLength: b.readUInt32LE(8), footerCrc32: b.readUInt32LE(12) };
}

// ---- CRC ----

/** The bytes of one column (a view, no copy). */
export function columnBytes(a: Uint8Array | Uint32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** zlib's CRC-32 of the concatenated column bytes in COLUMNS order. */
export function chunkCrc32(chunk: TraceChunk): number {
  let crc = 0;
  for (const [name] of COLUMNS) crc = crc32(columnBytes(chunk[name]), crc);
  return crc;
}

/** The recorded columns a chunk has, in RECORDED_COLUMNS order. */
export function recordedColumns(chunk: TraceChunk): RecordedColumnName[] {
  return RECORDED_COLUMNS.filter(([name]) => chunk[name] !== undefined).map(([name]) => name);
}

/** CRC-32 of the recorded columns present, in RECORDED_COLUMNS order; undefined when there are none. */
export function recordedCrc32(chunk: TraceChunk): number | undefined {
  const names = recordedColumns(chunk);
  if (names.length === 0) return undefined;
  let crc = 0;
  for (const name of names) crc = crc32(columnBytes(chunk[name]!), crc);
  return crc;
}

// ---- msgpack encoding of a chunk's map (written by hand so the columns go to the file without a copy) ----

export function encodeStr(s: string): Buffer {
  const bytes = Buffer.from(s, "utf8");
  if (bytes.length > 31) throw new Error(`internal: key ${s} too long for fixstr`);
  return Buffer.concat([Buffer.from([0xa0 | bytes.length]), bytes]);
}

/** The shortest msgpack encoding of a non-negative safe integer. */
export function encodeUint(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n <= 0xff) return Buffer.from([0xcc, n]);
  if (n <= 0xffff) { const b = Buffer.alloc(3); b[0] = 0xcd; b.writeUInt16BE(n, 1); return b; }
  if (n <= 0xffffffff) { const b = Buffer.alloc(5); b[0] = 0xce; b.writeUInt32BE(n, 1); return b; }
  const b = Buffer.alloc(9); b[0] = 0xcf; b.writeBigUInt64BE(BigInt(n), 1); return b;
}

export function binHeader(length: number): Buffer {
  const b = Buffer.alloc(5);
  b[0] = 0xc6; // bin 32 always: the header size does not depend on the chunk length
  b.writeUInt32BE(length, 1);
  return b;
}

/**
 * The chunk's map as a list of byte strings to write in order: the small fields, then for each column its key
 * and bin header followed by the column's own bytes (views of the caller's arrays).
 */
export function encodeChunk(index: number, chunk: TraceChunk, crc: number): Uint8Array[] {
  const recorded = recordedColumns(chunk);
  const recordedCrc = recordedCrc32(chunk);
  const entries = 5 + COLUMNS.length + (recorded.length > 0 ? recorded.length + 1 : 0);
  const head: Buffer[] = [
    // 13 entries fit a fixmap; with recorded columns (16) it takes a map 16
    entries <= 15 ? Buffer.from([0x80 | entries]) : Buffer.from([0xde, entries >> 8, entries & 0xff]),
    encodeStr("kind"), encodeStr("chunk"),
    encodeStr("index"), encodeUint(index),
    encodeStr("length"), encodeUint(chunk.length),
    encodeStr("t0"), encodeUint(chunk.t0),
    encodeStr("crc32"), encodeUint(crc),
  ];
  if (recordedCrc !== undefined) head.push(encodeStr("crc32_recorded"), encodeUint(recordedCrc));
  const parts: Uint8Array[] = [Buffer.concat(head)];
  for (const name of [...COLUMNS.map(([n]) => n), ...recorded]) {
    const bytes = columnBytes(chunk[name]!);
    parts.push(Buffer.concat([encodeStr(name), binHeader(bytes.length)]), bytes);
  }
  return parts;
}

// ---- Value checks (each returns a reason, or undefined when fine) ----

export function isUint(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

export function isString(v: unknown): v is string {
  return typeof v === "string";
}

export function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

export function checkHeader(v: unknown): string | undefined {
  if (!isMap(v) || !("format" in v)) return "not an fbreplay trace: the first value is not a header map";
  if (v.format !== TRACE_FORMAT) return `not an fbreplay trace: format is ${JSON.stringify(v.format)}, expected "${TRACE_FORMAT}"`;
  if (!TRACE_READ_VERSIONS.includes(v.version as number)) {
    return `unknown version ${JSON.stringify(v.version)}: this reader reads versions ${TRACE_READ_VERSIONS.join(" and ")}`;
  }
  if (!isMap(v.source) || !isString(v.source.format)) return "header: source must be a map with a string format";
  for (const key of ["workload", "host_kernel", "created"] as const) {
    if (!isString(v[key])) return `header: ${key} must be a string`;
  }
  if (!isMap(v.recorder) || !isString(v.recorder.name) || !isString(v.recorder.version)) {
    return "header: recorder must be a map with string name and version";
  }
  return undefined;
}

export function checkFooter(v: unknown): string | undefined {
  if (!isMap(v) || v.kind !== "footer") return "the value the trailer points at is not a footer map";
  for (const key of ["events", "chunks", "backing_files", "duration_us"] as const) {
    if (!isUint(v[key])) return `${key} must be a non-negative integer, got ${JSON.stringify(v[key])}`;
  }
  for (const key of ["max_nodeid", "max_fh"] as const) {
    const x = v[key];
    if (typeof x !== "number" || !Number.isInteger(x) || x < -1 || x > 0xffffffff) return `${key} must be -1 or a u32, got ${JSON.stringify(x)}`;
  }
  const crcs = v.chunk_crc32;
  if (!Array.isArray(crcs) || crcs.some((c) => !isUint(c) || c > 0xffffffff)) return "chunk_crc32 must be an array of u32";
  if (crcs.length !== v.chunks) return `chunk_crc32 lists ${crcs.length} CRCs for ${String(v.chunks)} chunks`;
  for (const key of ["ambiguous_releases", "ambiguous_ids"] as const) {
    if (v[key] !== undefined && !isUint(v[key])) return `${key} must be a non-negative integer, got ${JSON.stringify(v[key])}`;
  }
  return undefined;
}

export function headerOf(v: Record<string, unknown>): TraceHeader {
  return v as unknown as TraceHeader;
}

export function footerOf(v: Record<string, unknown>): TraceFooter {
  return {
    events: v.events as number, chunks: v.chunks as number, backing_files: v.backing_files as number,
    max_nodeid: v.max_nodeid as number, max_fh: v.max_fh as number, duration_us: v.duration_us as number,
    chunk_crc32: v.chunk_crc32 as number[],
    ...(v.ambiguous_releases === undefined ? {} : { ambiguous_releases: v.ambiguous_releases as number }),
    ...(v.ambiguous_ids === undefined ? {} : { ambiguous_ids: v.ambiguous_ids as number }),
  };
}
