// Streaming reader of .fbt files. The header, trailer and footer are read and checked up front; items() then walks
// the body once. Small values are decoded by msgpackr out of a reusable block buffer. A chunk's column bins are
// read from the file straight into fresh ArrayBuffers (aligned, no intermediate copy, no object per event), in the
// background: items() starts the reads of the next item before it yields the current one, so the file is read
// while the consumer replays.
import { open, type FileHandle } from "node:fs/promises";
import { crc32 } from "node:zlib";
import { Unpackr } from "msgpackr";
import {
  COLUMNS, DIGEST_BYTES, MAX_SMALL_VALUE, TRAILER_SIZE, TraceTotals, backingFileOf, checkBackingFile, checkChunkEvents, checkFooter, checkFooterFigures,
  RECORDED_COLUMNS, checkHeader, chunkCrc32, decodeTrailer, recordedCrc32, footerOf, headerOf, isUint, oneLine, scanChunk, type ColumnName,
} from "./format.js";
import { TraceError, type TraceBackingFile, type TraceChunk, type TraceFooter, type TraceHeader, type TraceItem } from "./types.js";

/**
 * Read-ahead block for everything but large bins. Small, because a chunk's keys sit between its column bins: each
 * key is read with one block, and the block's bytes beyond it (column data read directly anyway) are wasted.
 */
export const DEFAULT_BLOCK_BYTES = 256 << 10;

export interface OpenTraceOptions {
  /** Read-ahead block size (tests use tiny blocks to cut values at every boundary). */
  blockBytes?: number;
  /**
   * Reuse the buffers of a chunk's columns for later chunks: a yielded chunk's columns are then valid only until the
   * consumer asks for the next item. For consumers that copy them out at once (the replay copies each chunk into
   * the core): a fresh buffer per column and chunk costs page faults and garbage collection, measured as the
   * largest part of reading a trace (bench/README.md). Default false.
   */
  reuseBuffers?: boolean;
}

/** Column buffers handed back after use, by size: a trace's chunks are nearly all of one size. */
class BinPool {
  private readonly free = new Map<number, Uint8Array[]>();

  take(n: number): Uint8Array {
    // Not zero-filled (zeroing costs more than the read); every byte is overwritten before it is used.
    return this.free.get(n)?.pop() ?? new Uint8Array(Buffer.allocUnsafeSlow(n).buffer, 0, n);
  }

  give(bins: readonly Uint8Array[]): void {
    for (const b of bins) {
      const list = this.free.get(b.length);
      if (list === undefined) this.free.set(b.length, [b]);
      else list.push(b);
    }
  }
}

// copyBuffers: decoded bins (digests) must not alias the block buffer, which is reused for the next block.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, copyBuffers: true, int64AsType: "number" });

/** Bad bytes found while decoding; the caller turns it into a TraceError naming the place. */
class Malformed extends Error {}

/** A forward-only cursor over bytes [pos, limit) of a file, with a reusable read-ahead buffer. */
class ByteSource {
  private buf: Buffer;
  private lo = 0;
  private hi = 0;

  /** `pos` is the file offset of the next unread byte (buf[lo]). */
  /** With a pool, the bins taken since the last `takenBins()` (the item being read). */
  private taken: Uint8Array[] = [];

  constructor(
    private readonly fh: FileHandle, public pos: number, readonly limit: number, private readonly blockBytes: number,
    private readonly pool: BinPool | null = null,
  ) {
    this.buf = Buffer.allocUnsafe(blockBytes);
  }

  /** The bins handed out for the current item, to give back to the pool once the consumer is done with it. */
  takenBins(): Uint8Array[] {
    const bins = this.taken;
    this.taken = [];
    return bins;
  }

  get available(): number {
    return this.hi - this.lo;
  }

  get remaining(): number {
    return this.limit - this.pos;
  }

  /** The buffered unread bytes (a view, valid until the next fill). */
  window(): Buffer {
    return this.buf.subarray(this.lo, this.hi);
  }

  consume(n: number): void {
    this.lo += n;
    this.pos += n;
  }

  /** Buffers at least n unread bytes, or everything up to the limit when fewer remain; returns what is buffered. */
  async fill(n: number): Promise<number> {
    n = Math.min(n, this.remaining);
    if (this.available >= n) return this.available;
    if (this.lo + n > this.buf.length) {
      // Not enough room after the unread bytes: move them to the front, of a larger buffer if need be.
      const next = n > this.buf.length ? Buffer.allocUnsafe(Math.max(n, this.blockBytes)) : this.buf;
      this.buf.copy(next, 0, this.lo, this.hi);
      this.buf = next;
      this.hi -= this.lo;
      this.lo = 0;
    }
    while (this.available < n) {
      const fileEnd = this.pos + this.available;
      // Read ahead one block, not the whole buffer: after a large value the buffer stays large, and a chunk's
      // key is followed by column data that is read directly.
      const want = Math.min(this.buf.length - this.hi, this.limit - fileEnd, Math.max(n - this.available, this.blockBytes));
      this.hi += await this.readAt(this.buf, this.hi, want, fileEnd);
    }
    return this.available;
  }

  /**
   * The next n bytes in a fresh ArrayBuffer of their own. A bin the block holds (or a small one) is copied out of
   * the block; a large one is read from the file straight into its buffer, in the background: the cursor moves
   * past it at once and `done` settles when the bytes are in.
   */
  async takeBytes(n: number): Promise<{ bytes: Uint8Array; done: Promise<void> }> {
    // Not zero-filled (zeroing costs more than the read); every byte is overwritten before `done` settles.
    let bytes: Uint8Array;
    if (this.pool !== null) {
      bytes = this.pool.take(n);
      this.taken.push(bytes);
    } else {
      bytes = new Uint8Array(Buffer.allocUnsafeSlow(n).buffer, 0, n);
    }
    if (n <= this.available || n <= this.blockBytes) {
      await this.fill(n);
      bytes.set(this.buf.subarray(this.lo, this.lo + n));
      this.consume(n);
      return { bytes, done: Promise.resolve() };
    }
    const done = this.readFully(bytes, this.pos);
    done.catch(() => undefined); // awaited by the caller unless an earlier error ends the walk
    this.pos += n; // the bin starts at buf[lo]: drop what the block holds of it
    this.lo = this.hi = 0;
    return { bytes, done };
  }

  private async readFully(dst: Uint8Array, position: number): Promise<void> {
    for (let done = 0; done < dst.length;) done += await this.readAt(dst, done, dst.length - done, position + done);
  }

  private async readAt(dst: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    const { bytesRead } = await this.fh.read(dst, offset, length, position);
    if (bytesRead === 0) throw new Malformed(`the file ends at byte ${position}, before byte ${this.limit} (did it change while being read?)`);
    return bytesRead;
  }
}

type Decoded = { value: unknown; end: number } | "incomplete";

/** Decodes the first msgpack value of bytes, or says the bytes stop inside it. */
function decodeFirst(bytes: Uint8Array): Decoded {
  if (bytes.length === 0) return "incomplete";
  let result: Decoded = "incomplete";
  try {
    unpackr.unpackMultiple(bytes, (value: unknown, _start?: number, end?: number) => {
      result = { value, end: end ?? bytes.length };
      return false; // only the first value
    });
  } catch (e) {
    if ((e as { incomplete?: boolean }).incomplete) return "incomplete";
    throw new Malformed(`malformed msgpack: ${(e as Error).message}`);
  }
  return result;
}

/** Decodes the value at the cursor with msgpackr, buffering more (up to max bytes) until it is complete. */
async function readValue(src: ByteSource, max = MAX_SMALL_VALUE): Promise<unknown> {
  // msgpackr looks ahead over all the bytes it is given (it extracts strings in bulk), so it gets a window that
  // starts at a few bytes and doubles: given the whole read-ahead block for each key, a file of many small chunks
  // took time in proportion to the block per value (found by the fuzz suite: 8 ms per 3-row chunk).
  let want = Math.min(64, src.remaining);
  for (;;) {
    const given = Math.min(want, await src.fill(want));
    const r = decodeFirst(src.window().subarray(0, given));
    if (r !== "incomplete") {
      src.consume(r.end);
      return r.value;
    }
    if (given >= src.remaining) throw new Malformed(`a value runs past byte ${src.limit}`);
    if (given >= max) throw new Malformed(`a value is larger than ${max} bytes`);
    want = Math.min(given * 2, max);
  }
}

/** The header is small; a larger "header" is some other file whose first byte looks like a long msgpack map. */
const MAX_HEADER_BYTES = 64 << 20;

/** fixmap, map 16 or map 32. */
function isMapType(byte: number): boolean {
  return (byte >= 0x80 && byte <= 0x8f) || byte === 0xde || byte === 0xdf;
}

/** Reads msgpack map and bin headers (big-endian lengths): returns [count or length, header size]. */
function mapHeader(b: Buffer): [number, number] | undefined {
  if (b.length >= 1 && b[0] >= 0x80 && b[0] <= 0x8f) return [b[0] & 0x0f, 1]; // fixmap
  if (b.length >= 3 && b[0] === 0xde) return [b.readUInt16BE(1), 3];
  if (b.length >= 5 && b[0] === 0xdf) return [b.readUInt32BE(1), 5];
  return undefined;
}

function binHeader(b: Buffer): [number, number] | undefined {
  if (b.length >= 2 && b[0] === 0xc4) return [b[1], 2];
  if (b.length >= 3 && b[0] === 0xc5) return [b.readUInt16BE(1), 3];
  if (b.length >= 5 && b[0] === 0xc6) return [b.readUInt32BE(1), 5];
  return undefined;
}

/** A top-level map whose large bins may still be arriving: await `done` before using `fields`. */
interface ItemRead {
  at: number;
  fields: Map<string, unknown>;
  done: Promise<unknown>;
}

/**
 * Reads one top-level map. Its bin values go into fresh ArrayBuffers (so columns are aligned and never alias the
 * block buffer); other values go through msgpackr.
 */
async function startItem(src: ByteSource): Promise<ItemRead> {
  const at = src.pos;
  await src.fill(5);
  const map = mapHeader(src.window());
  if (map === undefined) throw new Malformed(src.available === 0 ? `a value runs past byte ${src.limit}` : "expected a map");
  src.consume(map[1]);
  const fields = new Map<string, unknown>();
  const reads: Promise<void>[] = [];
  for (let i = 0; i < map[0]; i++) {
    const key = await readValue(src);
    if (typeof key !== "string") throw new Malformed(`map key ${i} is not a string`);
    if (fields.has(key)) throw new Malformed(`duplicate key ${key}`);
    await src.fill(5);
    const bin = binHeader(src.window());
    if (bin === undefined) {
      fields.set(key, await readValue(src));
      continue;
    }
    src.consume(bin[1]);
    if (bin[0] > src.remaining) throw new Malformed(`${key}: a bin of ${bin[0]} bytes runs past byte ${src.limit}`);
    const { bytes, done } = await src.takeBytes(bin[0]);
    fields.set(key, bytes);
    reads.push(done);
  }
  const done = Promise.all(reads);
  done.catch(() => undefined); // a consumer that stops early never awaits it
  return { at, fields, done };
}

function describe(v: unknown): string {
  if (v instanceof Uint8Array) return "a bin";
  if (Array.isArray(v)) return "an array";
  if (v === null || v === undefined) return "nil";
  return typeof v === "object" ? "a map" : `${typeof v} ${JSON.stringify(v)}`;
}

function u32Column(bytes: Uint8Array, n: number): Uint32Array {
  // Bins are read into fresh buffers, so this is a view; the copy is only a guard.
  return bytes.byteOffset % 4 === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset, n) : new Uint32Array(bytes.slice().buffer);
}

/** A chunk map's fields as a TraceChunk, with its declared index and CRC; checks types and column lengths. */
function chunkOf(fields: Map<string, unknown>): { chunk: TraceChunk; index: number; crc: number; recordedCrc?: number } {
  const index = fields.get("index");
  const n = fields.get("length");
  const t0 = fields.get("t0");
  const crc = fields.get("crc32");
  if (!isUint(index)) throw new Malformed(`index is ${describe(index)}, expected an integer`);
  if (!isUint(n) || n === 0) throw new Malformed(`length is ${describe(n)}, expected a positive integer`);
  if (!isUint(t0)) throw new Malformed(`t0 is ${describe(t0)}, expected a non-negative integer`);
  if (!isUint(crc) || crc > 0xffffffff) throw new Malformed(`crc32 is ${describe(crc)}, expected a u32`);
  const cols = {} as Record<ColumnName, Uint8Array | Uint32Array>;
  for (const [name, size] of COLUMNS) {
    const bytes = fields.get(name);
    if (!(bytes instanceof Uint8Array)) throw new Malformed(`column ${name} is ${describe(bytes)}, expected a bin`);
    if (bytes.length !== n * size) {
      throw new Malformed(`inconsistent column lengths: column ${name} has ${bytes.length} bytes, expected ${size} × ${n} rows = ${n * size}`);
    }
    cols[name] = size === 1 ? bytes : u32Column(bytes, n);
  }
  const chunk = { length: n, t0, ...cols } as TraceChunk;
  for (const [name, size] of RECORDED_COLUMNS) {
    const bytes = fields.get(name);
    if (bytes === undefined) continue;
    if (!(bytes instanceof Uint8Array)) throw new Malformed(`column ${name} is ${describe(bytes)}, expected a bin`);
    if (bytes.length !== n * size) {
      throw new Malformed(`inconsistent column lengths: column ${name} has ${bytes.length} bytes, expected ${size} × ${n} rows = ${n * size}`);
    }
    if (name === "bid") chunk.bid = u32Column(bytes, n);
    else chunk.verdict = bytes;
  }
  const recordedCrc = fields.get("crc32_recorded");
  if (recordedCrc !== undefined && (!isUint(recordedCrc) || recordedCrc > 0xffffffff)) {
    throw new Malformed(`crc32_recorded is ${describe(recordedCrc)}, expected a u32`);
  }
  if ((recordedCrc === undefined) !== (chunk.bid === undefined && chunk.verdict === undefined)) {
    throw new Malformed("recorded columns and crc32_recorded must come together");
  }
  return { chunk, index, crc, recordedCrc: recordedCrc as number | undefined };
}

function backingOf(fields: Map<string, unknown>, tableSize: number): TraceBackingFile[] {
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

export class TraceReader {
  constructor(
    readonly path: string,
    /** File size in bytes. */
    readonly size: number,
    readonly header: TraceHeader,
    readonly footer: TraceFooter,
    private readonly bodyStart: number,
    private readonly footerOffset: number,
    private readonly blockBytes: number,
    private readonly reuseBuffers = false,
  ) {}

  /** Backing extensions and chunks in file order; each is checked before it is yielded. */
  async *items(): AsyncGenerator<TraceItem> {
    const fh = await open(this.path, "r");
    try {
      const pool = this.reuseBuffers ? new BinPool() : null;
      yield* this.walk(new ByteSource(fh, this.bodyStart, this.footerOffset, this.blockBytes, pool), pool);
    } finally {
      await fh.close();
    }
  }

  private fail(where: string, reason: string): TraceError {
    return new TraceError(this.path, where, oneLine(reason));
  }

  private async *walk(src: ByteSource, pool: BinPool | null): AsyncGenerator<TraceItem> {
    const totals = new TraceTotals();
    let next = await this.start(src);
    let bins = src.takenBins();
    while (next !== undefined) {
      if (next instanceof Error) throw next;
      const item = await this.finish(next, totals);
      // Start the following item's reads before handing this one over, but report its errors only afterwards:
      // the items before a bad one are good and are yielded first.
      next = await this.start(src);
      const nextBins = src.takenBins();
      yield item;
      pool?.give(bins); // the consumer asked for the next item: it is done with this one's columns
      bins = nextBins;
    }
    this.checkTotals(totals);
  }

  /** Starts reading the next item; undefined at the footer, an Error (not thrown yet) when it is malformed. */
  private async start(src: ByteSource): Promise<ItemRead | Error | undefined> {
    if (src.pos >= src.limit) return undefined;
    const at = src.pos;
    try {
      return await startItem(src);
    } catch (e) {
      return this.rethrow(e, `item at byte ${at}`);
    }
  }

  /** Waits for the item's bytes and checks it. */
  private async finish(read: ItemRead, totals: TraceTotals): Promise<TraceItem> {
    const { at, fields } = read;
    try {
      await read.done;
    } catch (e) {
      throw this.rethrow(e, `item at byte ${at}`);
    }
    const kind = fields.get("kind");
    if (kind === "chunk") {
      const index = totals.chunks;
      const chunk = this.checkChunk(fields, index, totals, `chunk ${index} (byte ${at})`);
      return { kind: "chunk", index, chunk };
    }
    if (kind === "backing") {
      const first = totals.backingFiles;
      let files: TraceBackingFile[];
      try {
        files = backingOf(fields, first);
      } catch (e) {
        throw this.rethrow(e, `backing extension (byte ${at})`);
      }
      if (totals.backingFiles + files.length > this.footer.backing_files) {
        throw this.fail(`backing extension (byte ${at})`, `${files.length} more backing files make ${totals.backingFiles + files.length}, more than the footer's ${this.footer.backing_files}`);
      }
      totals.backingFiles += files.length;
      return { kind: "backing", first, files };
    }
    throw this.fail(`item at byte ${at}`, `unknown item kind ${describe(kind)} (expected "chunk" or "backing")`);
  }

  /** All checks of one chunk; adds it to the totals. */
  private checkChunk(fields: Map<string, unknown>, index: number, totals: TraceTotals, where: string): TraceChunk {
    let decoded: ReturnType<typeof chunkOf>;
    try {
      decoded = chunkOf(fields);
    } catch (e) {
      throw this.rethrow(e, where);
    }
    const { chunk, crc } = decoded;
    if (decoded.index !== index) throw this.fail(where, `index field is ${decoded.index}, expected ${index}`);
    if (index >= this.footer.chunks) throw this.fail(where, `more chunks than the footer's ${this.footer.chunks}`);
    const actual = chunkCrc32(chunk);
    if (actual !== crc) throw this.fail(where, `CRC-32 of the columns is ${hex(actual)}, the chunk says ${hex(crc)} (corrupt data)`);
    const recorded = recordedCrc32(chunk);
    if (recorded !== decoded.recordedCrc) {
      throw this.fail(where, `CRC-32 of the recorded columns is ${hex(recorded ?? 0)}, the chunk says ${hex(decoded.recordedCrc ?? 0)} (corrupt data)`);
    }
    if (crc !== this.footer.chunk_crc32[index]) {
      throw this.fail(where, `CRC-32 ${hex(crc)} differs from the footer's ${hex(this.footer.chunk_crc32[index])} for this chunk`);
    }
    if (totals.events + chunk.length > this.footer.events) {
      throw this.fail(where, `${chunk.length} more events make ${totals.events + chunk.length}, more than the footer's ${this.footer.events}`);
    }
    const scan = scanChunk(chunk, { backingFiles: totals.backingFiles, maxNodeid: this.footer.max_nodeid, maxFh: this.footer.max_fh });
    const bad = checkChunkEvents(chunk, scan, totals.lastTime);
    if (bad !== undefined) throw this.fail(where, bad);
    totals.addChunk(chunk, scan, crc);
    return chunk;
  }

  private checkTotals(totals: TraceTotals): void {
    const found = totals.footer();
    const where = `footer (byte ${this.footerOffset})`;
    for (const key of ["chunks", "events", "backing_files", "max_nodeid", "max_fh", "duration_us"] as const) {
      if (found[key] !== this.footer[key]) {
        throw this.fail(where, `the footer says ${key} = ${this.footer[key]} but the file holds ${found[key]}`);
      }
    }
  }

  private rethrow(e: unknown, where: string): Error {
    return e instanceof Malformed ? this.fail(where, e.message) : (e as Error);
  }
}

function hex(n: number | undefined): string {
  return n === undefined ? "none" : `0x${n.toString(16).padStart(8, "0")}`;
}

/** Opens a trace and checks its header, trailer and footer; the body is checked as items() streams it. */
export async function openTrace(path: string, options: OpenTraceOptions = {}): Promise<TraceReader> {
  const blockBytes = options.blockBytes ?? DEFAULT_BLOCK_BYTES;
  const fail = (where: string, reason: string) => new TraceError(path, where, oneLine(reason));
  const fh = await open(path, "r");
  try {
    const stat = await fh.stat();
    if (!stat.isFile()) throw fail("the file", stat.isDirectory() ? "is a directory, not a trace" : "is not a regular file");
    const size = stat.size;

    // Header first: a file that is not a trace at all should say so, not complain about its trailer.
    const src = new ByteSource(fh, 0, size, blockBytes);
    let header: unknown;
    try {
      if (size === 0) throw new Malformed("empty file (truncated, or not an fbreplay trace)");
      await src.fill(1);
      const first = src.window()[0];
      if (!isMapType(first)) throw new Malformed("the first value is not a header map");
      header = await readValue(src, MAX_HEADER_BYTES);
    } catch (e) {
      if (!(e instanceof Malformed)) throw e;
      const truncated = e.message.startsWith("a value runs past");
      throw fail("byte 0", truncated ? "the file ends inside the header (truncated)" : `not an fbreplay trace: ${e.message}`);
    }
    const badHeader = checkHeader(header);
    if (badHeader !== undefined) throw fail("byte 0", badHeader);
    const bodyStart = src.pos;

    if (size - bodyStart < TRAILER_SIZE) {
      throw fail("trailer", `the file is ${size} bytes: no room for the ${TRAILER_SIZE}-byte trailer after the header (truncated)`);
    }
    const trailerBytes = Buffer.alloc(TRAILER_SIZE);
    await fh.read(trailerBytes, 0, TRAILER_SIZE, size - TRAILER_SIZE);
    const trailer = decodeTrailer(trailerBytes);
    if (typeof trailer === "string") throw fail("trailer", trailer);
    const { footerOffset, footerLength } = trailer;
    const footerEnd = footerOffset + footerLength;
    if (footerOffset < bodyStart || footerEnd > size - TRAILER_SIZE) {
      throw fail("trailer", `footer at byte ${footerOffset} of ${footerLength} bytes lies outside the body (bytes ${bodyStart}–${size - TRAILER_SIZE})`);
    }
    const where = `footer (byte ${footerOffset})`;
    if (footerEnd < size - TRAILER_SIZE) {
      throw fail(where, `unexpected values after the footer: ${size - TRAILER_SIZE - footerEnd} bytes before the trailer`);
    }
    const footerBytes = Buffer.alloc(footerLength);
    await fh.read(footerBytes, 0, footerLength, footerOffset);
    if (crc32(footerBytes) !== trailer.footerCrc32) {
      throw fail(where, `CRC-32 of the footer is ${hex(crc32(footerBytes))}, the trailer says ${hex(trailer.footerCrc32)} (corrupt)`);
    }
    let decoded: Decoded;
    try {
      decoded = decodeFirst(footerBytes);
    } catch (e) {
      throw e instanceof Malformed ? fail(where, e.message) : e;
    }
    if (decoded === "incomplete") throw fail(where, "the footer value is cut short");
    if (decoded.end < footerLength) throw fail(where, `unexpected values after the footer: ${footerLength - decoded.end} bytes`);
    const badFooter = checkFooter(decoded.value);
    if (badFooter !== undefined) throw fail(where, badFooter);
    const footer = footerOf(decoded.value as Record<string, unknown>);
    const badFigures = checkFooterFigures(footer, footerOffset - bodyStart);
    if (badFigures !== undefined) throw fail(where, badFigures);
    return new TraceReader(
      path, size, headerOf(header as Record<string, unknown>), footer, bodyStart, footerOffset, blockBytes, options.reuseBuffers ?? false,
    );
  } finally {
    await fh.close();
  }
}
