// Streaming the items of an opened .fbt file (./open.ts): backing extensions and chunks in file order, each checked
// before it is yielded (FORMAT.md, "Ordering rules"). items() starts the reads of the next item before it yields the
// current one, so the file is read while the consumer replays.
import { open } from "node:fs/promises";
import { BinPool, ByteSource, ITEM_READ_AHEAD, Malformed, Placed, describe, startItem, type ItemRead } from "./bytes.js";
import { COLUMNS, RECORDED_COLUMNS, chunkCrc32, isUint, oneLine, recordedCrc32, type ColumnName, type RecordedColumnName } from "./format.js";
import { TraceTotals, checkChunkEvents, scanChunk, type ChunkScan, type RowLimits } from "./checks.js";
import { backingColumnsOf, backingItem, backingOf } from "./backing.js";
import {
  TraceError, type ChunkSink, type ItemsOptions, type TraceBackingFile, type TraceChunk, type TraceFooter, type TraceHeader,
  type TraceItem,
} from "./types.js";

function u32Column(bytes: Uint8Array, n: number): Uint32Array {
  // Bins are read into fresh buffers, so this is a view; the copy is only a guard.
  return bytes.byteOffset % 4 === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset, n) : new Uint32Array(bytes.slice().buffer);
}

/**
 * A chunk map's fields as a TraceChunk, with its declared index and CRC; checks types and column lengths. Columns
 * that went to the sink's `slot` are views of it, and the chunk says so (`slot`) when all of them did.
 */
function chunkOf(fields: Map<string, unknown>, slot: number, sink?: ChunkSink): { chunk: TraceChunk; index: number; crc: number; recordedCrc?: number } {
  let placed = 0;
  let present = 0;
  const column = (name: ColumnName | RecordedColumnName): unknown => {
    const v = fields.get(name);
    if (v !== undefined) present++;
    if (!(v instanceof Placed)) return v;
    placed++;
    return sink!.column(slot, name, v.rows);
  };
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
    const bytes = column(name);
    if (!(bytes instanceof Uint8Array)) throw new Malformed(`column ${name} is ${describe(bytes)}, expected a bin`);
    if (bytes.length !== n * size) {
      throw new Malformed(`inconsistent column lengths: column ${name} has ${bytes.length} bytes, expected ${size} × ${n} rows = ${n * size}`);
    }
    cols[name] = size === 1 ? bytes : u32Column(bytes, n);
  }
  const chunk = { length: n, t0, ...cols } as TraceChunk;
  for (const [name, size] of RECORDED_COLUMNS) {
    const bytes = column(name);
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
  if (placed === present) chunk.slot = slot;
  return { chunk, index, crc, recordedCrc: recordedCrc as number | undefined };
}

/** The row checks where the sink holds the rows; a bad row's reason from scanChunk, which finds the same row. */
function scanInSink(chunk: TraceChunk, slot: number, sink: ChunkSink, limits: RowLimits): ChunkScan {
  const s = sink.scan(slot, chunk.length, { bid: chunk.bid !== undefined, verdict: chunk.verdict !== undefined }, limits);
  if (s.badRow >= 0) return scanChunk(chunk, limits);
  return { maxNodeid: s.maxNodeid, maxFh: s.maxFh, lastTime: chunk.t0 + s.elapsed, badRow: -1, badReason: "" };
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

  /**
   * Backing extensions and chunks in file order; each is checked before it is yielded. With a sink, chunks'
   * columns are read into its memory and their rows checked there (ItemsOptions).
   */
  async *items(options: ItemsOptions = {}): AsyncGenerator<TraceItem> {
    const fh = await open(this.path, "r");
    try {
      const pool = this.reuseBuffers ? new BinPool() : null;
      const src = new ByteSource(fh, this.bodyStart, this.footerOffset, this.blockBytes, pool);
      src.ahead = Math.min(ITEM_READ_AHEAD, this.blockBytes);
      src.sync = options.sink !== undefined;
      yield* this.walk(src, pool, options.sink);
    } finally {
      await fh.close();
    }
  }

  private fail(where: string, reason: string): TraceError {
    return new TraceError(this.path, where, oneLine(reason));
  }

  private async *walk(src: ByteSource, pool: BinPool | null, sink?: ChunkSink): AsyncGenerator<TraceItem> {
    const totals = new TraceTotals();
    let next = await this.start(src, sink);
    let bins = src.takenBins();
    while (next !== undefined) {
      if (next instanceof Error) throw next;
      const item = await this.finish(next, totals, sink);
      // Start the following item's reads before handing this one over, but report its errors only afterwards:
      // the items before a bad one are good and are yielded first.
      next = await this.start(src, sink);
      const nextBins = src.takenBins();
      yield item;
      pool?.give(bins); // the consumer asked for the next item: it is done with this one's columns
      bins = nextBins;
    }
    this.checkTotals(totals);
  }

  /** Starts reading the next item; undefined at the footer, an Error (not thrown yet) when it is malformed. */
  private async start(src: ByteSource, sink?: ChunkSink): Promise<ItemRead | Error | undefined> {
    if (src.pos >= src.limit) return undefined;
    const at = src.pos;
    try {
      return await startItem(src, sink);
    } catch (e) {
      return this.rethrow(e, `item at byte ${at}`);
    }
  }

  /** Waits for the item's bytes and checks it. */
  private async finish(read: ItemRead, totals: TraceTotals, sink?: ChunkSink): Promise<TraceItem> {
    const { at, fields } = read;
    try {
      await read.done;
    } catch (e) {
      throw this.rethrow(e, `item at byte ${at}`);
    }
    const kind = fields.get("kind");
    if (kind === "chunk") {
      const index = totals.chunks;
      const chunk = this.checkChunk(read, index, totals, `chunk ${index} (byte ${at})`, sink);
      return { kind: "chunk", index, chunk };
    }
    if (kind === "backing") {
      const first = totals.backingFiles;
      let item: TraceItem & { kind: "backing" };
      let count: number;
      try {
        if (this.header.version === 1) {
          const files = backingOf(fields, first);
          item = { kind: "backing", first, files };
          count = files.length;
        } else {
          const columns = backingColumnsOf(fields, first);
          item = backingItem(first, columns);
          count = columns.count;
        }
      } catch (e) {
        throw this.rethrow(e, `backing extension (byte ${at})`);
      }
      if (totals.backingFiles + count > this.footer.backing_files) {
        throw this.fail(`backing extension (byte ${at})`, `${count} more backing files make ${totals.backingFiles + count}, more than the footer's ${this.footer.backing_files}`);
      }
      totals.backingFiles += count;
      return item;
    }
    throw this.fail(`item at byte ${at}`, `unknown item kind ${describe(kind)} (expected "chunk" or "backing")`);
  }

  /** All checks of one chunk; adds it to the totals. */
  private checkChunk(read: ItemRead, index: number, totals: TraceTotals, where: string, sink?: ChunkSink): TraceChunk {
    let decoded: ReturnType<typeof chunkOf>;
    try {
      decoded = chunkOf(read.fields, read.slot, sink);
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
    const limits = { backingFiles: totals.backingFiles, maxNodeid: this.footer.max_nodeid, maxFh: this.footer.max_fh };
    const scan = chunk.slot !== undefined ? scanInSink(chunk, chunk.slot, sink!, limits) : scanChunk(chunk, limits);
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

export function hex(n: number | undefined): string {
  return n === undefined ? "none" : `0x${n.toString(16).padStart(8, "0")}`;
}
