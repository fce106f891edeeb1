// The byte-level rules of a .fbt file shared by the writer and the reader (traces/FORMAT.md is the prose).
// Everything a writer refuses the reader also rejects, so the checks live here once.
import { endianness } from "node:os";
import { crc32 } from "node:zlib";
import { ID_MAX_DEFAULT, OP_BACKING_OPEN, OP_LOOKUP, OP_MAX, OP_OPEN } from "../abi.js";
import { TRACE_FORMAT, TRACE_VERSION, VERDICT_MAX, type TraceBackingFile, type TraceChunk, type TraceFooter, type TraceHeader } from "./types.js";

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
 * replay has in flight stay a few MB, large enough that per-chunk costs vanish.
 */
export const TRACE_CHUNK_ROWS = 1 << 18;

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

function encodeStr(s: string): Buffer {
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

function binHeader(length: number): Buffer {
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

function isString(v: unknown): v is string {
  return typeof v === "string";
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

export function checkHeader(v: unknown): string | undefined {
  if (!isMap(v) || !("format" in v)) return "not an fbreplay trace: the first value is not a header map";
  if (v.format !== TRACE_FORMAT) return `not an fbreplay trace: format is ${JSON.stringify(v.format)}, expected "${TRACE_FORMAT}"`;
  if (v.version !== TRACE_VERSION) return `unknown version ${JSON.stringify(v.version)}: this reader reads version ${TRACE_VERSION}`;
  if (!isMap(v.source) || !isString(v.source.format)) return "header: source must be a map with a string format";
  for (const key of ["workload", "host_kernel", "created"] as const) {
    if (!isString(v[key])) return `header: ${key} must be a string`;
  }
  if (!isMap(v.recorder) || !isString(v.recorder.name) || !isString(v.recorder.version)) {
    return "header: recorder must be a map with string name and version";
  }
  return undefined;
}

export function checkBackingFile(v: unknown): string | undefined {
  if (!isMap(v)) return "is not a map";
  for (const key of ["dev", "ino", "size"] as const) {
    if (!isUint(v[key])) return `${key} must be a non-negative integer below 2^53, got ${JSON.stringify(v[key])}`;
  }
  if (!(v.digest instanceof Uint8Array) || v.digest.length !== DIGEST_BYTES) return `digest must be a bin of ${DIGEST_BYTES} bytes`;
  if (!isString(v.path)) return "path must be a string";
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
  if (v.ambiguous_releases !== undefined && !isUint(v.ambiguous_releases)) {
    return `ambiguous_releases must be a non-negative integer, got ${JSON.stringify(v.ambiguous_releases)}`;
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
  };
}

/** `digest` receives a copy of the bytes: msgpackr's Buffers share (and pin) the whole block they were read from. */
export function backingFileOf(v: Record<string, unknown>, digest: Uint8Array): TraceBackingFile {
  digest.set(v.digest as Uint8Array);
  return { dev: v.dev as number, ino: v.ino as number, digest, size: v.size as number, path: v.path as string };
}

// ---- Chunk checks ----

/** Checks the chunk's shape: a reason, or undefined. Used on what callers hand the writer. */
export function checkChunkShape(chunk: TraceChunk): string | undefined {
  const n = chunk.length;
  if (!isUint(n) || n === 0) return `length must be a positive integer, got ${JSON.stringify(n)}`;
  if (!isUint(chunk.t0)) return `t0 must be a non-negative integer below 2^53, got ${JSON.stringify(chunk.t0)}`;
  for (const [name, size] of COLUMNS) {
    const col: unknown = chunk[name];
    const ok = size === 1 ? col instanceof Uint8Array : col instanceof Uint32Array;
    if (!ok) return `column ${name} must be a ${size === 1 ? "Uint8Array" : "Uint32Array"}`;
    if ((col as Uint8Array | Uint32Array).length !== n) {
      return `column ${name} has ${(col as Uint8Array).length} rows, the chunk has ${n}`;
    }
  }
  for (const [name, size] of RECORDED_COLUMNS) {
    const col: unknown = chunk[name];
    if (col === undefined) continue;
    const ok = size === 1 ? col instanceof Uint8Array : col instanceof Uint32Array;
    if (!ok || (col as Uint8Array).length !== n) return `recorded column ${name} must be a ${size === 1 ? "Uint8Array" : "Uint32Array"} of ${n} rows`;
  }
  return undefined;
}

/**
 * What the rows of a chunk may hold beyond their shape: the reader takes the maxima from the footer (checked
 * against the file's size first), so that every value the replay uses is known to lie within what sized its tables.
 */
export interface RowLimits {
  /** Entries of the backing table at this point of the file: OPEN, LOOKUP and BACKING_OPEN rows name one below. */
  backingFiles: number;
  /** Largest nodeid and fh a row may carry (the writer: 0xffffffff; the reader: the footer's). */
  maxNodeid: number;
  maxFh: number;
}

/** What one pass over a chunk's rows finds. */
export interface ChunkScan {
  maxNodeid: number;
  maxFh: number;
  /** Time of the chunk's last event: t0 + dt[1] + … + dt[length-1]. */
  lastTime: number;
  /** First row holding a value outside RowLimits or an unknown code, or -1; `badReason` says what. */
  badRow: number;
  badReason: string;
}

/** Largest recorded backing id: the kernel's idr hands out ids up to INT_MAX (spec §a.1). */
export const MAX_RECORDED_ID = ID_MAX_DEFAULT;

/**
 * One tight loop over the columns: no allocation per event (a reason string only for the first bad row).
 */
export function scanChunk(chunk: TraceChunk, limits: RowLimits): ChunkScan {
  const { length: n, op, nodeid, fh, bref, dt, bid, verdict } = chunk;
  const { backingFiles, maxNodeid: nodeLimit, maxFh: fhLimit } = limits;
  let maxNodeid = -1;
  let maxFh = -1;
  let badRow = -1;
  let badReason = "";
  for (let i = 0; i < n; i++) {
    const o = op[i];
    const nid = nodeid[i];
    const f = fh[i];
    if (o < 1 || o > OP_MAX) { badRow = i; badReason = `unknown op code ${o} (known: 1–${OP_MAX})`; break; }
    if (nid > nodeLimit) { badRow = i; badReason = `nodeid ${nid} exceeds the footer's max_nodeid ${nodeLimit}`; break; }
    if (f > fhLimit) { badRow = i; badReason = `fh ${f} exceeds the footer's max_fh ${fhLimit}`; break; }
    if ((o === OP_OPEN || o === OP_LOOKUP || o === OP_BACKING_OPEN) && bref[i] >= backingFiles) {
      badRow = i;
      badReason = `references backing file ${bref[i]} but the backing table has ${backingFiles} entries at this point`;
      break;
    }
    if (bid !== undefined && bid[i] > MAX_RECORDED_ID) { badRow = i; badReason = `recorded backing id ${bid[i]} exceeds the idr's ${MAX_RECORDED_ID}`; break; }
    if (verdict !== undefined && verdict[i] > VERDICT_MAX) { badRow = i; badReason = `unknown verdict ${verdict[i]} (known: 0–${VERDICT_MAX})`; break; }
    if (nid > maxNodeid) maxNodeid = nid;
    if (f > maxFh) maxFh = f;
  }
  let elapsed = 0;
  for (let i = 1; i < n; i++) elapsed += dt[i];
  return { maxNodeid, maxFh, lastTime: chunk.t0 + elapsed, badRow, badReason };
}

/** The rules of a chunk's rows and the order across chunks; a reason (naming the row), or undefined. */
export function checkChunkEvents(chunk: TraceChunk, scan: ChunkScan, previousLastTime: number): string | undefined {
  if (scan.badRow >= 0) return `row ${scan.badRow}: ${scan.badReason}`;
  if (chunk.t0 < previousLastTime) {
    return `events out of order: t0 ${chunk.t0} us is earlier than the previous chunk's last event at ${previousLastTime} us`;
  }
  if (!Number.isSafeInteger(scan.lastTime)) return "event times exceed 2^53 us";
  return undefined;
}

// ---- Footer against the file: figures a reader may size memory from, bounded by what the bytes can hold ----

/** Bytes a row takes in the file at least: one per column element (op 1, seven u32 columns). */
export const MIN_ROW_BYTES = COLUMNS.reduce((sum, [, size]) => sum + size, 0);
/** Bytes a chunk map takes at least besides its rows (keys, small values, bin headers). */
export const MIN_CHUNK_BYTES = 64;
/** Bytes a backing-table entry takes at least (a map with dev, ino, size, path and a 32-byte digest). */
export const MIN_BACKING_FILE_BYTES = DIGEST_BYTES + 30;

/**
 * The footer's counts checked against each other and against the size of the file's body: a footer that passed
 * its CRC can still claim more than the bytes hold (a writer bug, or a value rewritten with its CRC). A reason, or
 * undefined. Nodeids and fhs may be any u32 (real daemons use 64-bit nodeids, which ingest maps to compact ones;
 * other producers may not): the replay remaps a sparse id space instead of sizing tables by the largest id.
 */
export function checkFooterFigures(f: TraceFooter, bodyBytes: number): string | undefined {
  if (f.events * MIN_ROW_BYTES + f.chunks * MIN_CHUNK_BYTES > bodyBytes) {
    return `events = ${f.events} in chunks = ${f.chunks} need at least ${f.events * MIN_ROW_BYTES + f.chunks * MIN_CHUNK_BYTES} bytes, the body has ${bodyBytes}`;
  }
  if (f.backing_files * MIN_BACKING_FILE_BYTES > bodyBytes) {
    return `backing_files = ${f.backing_files} need at least ${f.backing_files * MIN_BACKING_FILE_BYTES} bytes, the body has ${bodyBytes}`;
  }
  if (f.chunks > f.events) return `chunks = ${f.chunks} exceeds events = ${f.events} (a chunk holds at least one event)`;
  if ((f.events === 0) !== (f.chunks === 0)) return `events = ${f.events} with chunks = ${f.chunks}`;
  for (const key of ["max_nodeid", "max_fh"] as const) {
    if ((f.events === 0) !== (f[key] === -1)) return `${key} = ${f[key]} with events = ${f.events} (-1 exactly when there are no events)`;
  }
  return undefined;
}

/** Running totals over the chunks of a trace: what the footer records. */
export class TraceTotals {
  events = 0;
  chunks = 0;
  backingFiles = 0;
  maxNodeid = -1;
  maxFh = -1;
  firstTime = -1;
  lastTime = 0;
  readonly chunkCrc32: number[] = [];

  addChunk(chunk: TraceChunk, scan: ChunkScan, crc: number): void {
    this.events += chunk.length;
    this.chunks += 1;
    this.maxNodeid = Math.max(this.maxNodeid, scan.maxNodeid);
    this.maxFh = Math.max(this.maxFh, scan.maxFh);
    if (this.firstTime < 0) this.firstTime = chunk.t0;
    this.lastTime = scan.lastTime;
    this.chunkCrc32.push(crc);
  }

  footer(): TraceFooter {
    return {
      events: this.events, chunks: this.chunks, backing_files: this.backingFiles,
      max_nodeid: this.maxNodeid, max_fh: this.maxFh,
      duration_us: this.firstTime < 0 ? 0 : this.lastTime - this.firstTime,
      chunk_crc32: this.chunkCrc32.slice(),
    };
  }
}
