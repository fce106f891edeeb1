// The value rules of a chunk's rows and of the footer's figures, shared by the writer (on what callers hand it) and
// the reader (on what the file holds): FORMAT.md, "Ordering rules" 3, 5–8. Everything a writer refuses the reader
// also rejects. The row scan here is the reference; the replay core runs the same scan over columns already in its
// memory (assembly/scan.ts), and this one then words the reason for the first bad row.
import { ID_MAX_DEFAULT, OP_BACKING_OPEN, OP_LOOKUP, OP_MAX, OP_OPEN } from "../abi.js";
import { COLUMNS, DIGEST_BYTES, RECORDED_COLUMNS, isUint } from "./format.js";
import { VERDICT_MAX, type TraceChunk, type TraceFooter } from "./types.js";

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
