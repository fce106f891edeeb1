// The byte level of reading a .fbt file: a forward-only cursor over the file with a reusable read-ahead block,
// msgpack values decoded by msgpackr out of that block, and top-level maps whose large bins are read from the file
// straight into buffers of their own (aligned, no intermediate copy), in the background, or into a ColumnSink's
// memory (the replay core's) for a chunk's columns.
import { readSync } from "node:fs";
import { type FileHandle } from "node:fs/promises";
import { Unpackr } from "msgpackr";
import { COLUMNS, MAX_SMALL_VALUE, RECORDED_COLUMNS, isUint, type ColumnName, type RecordedColumnName } from "./format.js";
import type { ChunkSink } from "./types.js";

/**
 * Read-ahead block for everything but large bins. Small, because a chunk's keys sit between its column bins: each
 * key is read with one block, and the block's bytes beyond it (column data read directly anyway) are wasted.
 */
export const DEFAULT_BLOCK_BYTES = 256 << 10;

/** Column buffers handed back after use, by size: a trace's chunks are nearly all of one size. */
export class BinPool {
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
export class Malformed extends Error {}

/** A forward-only cursor over bytes [pos, limit) of a file, with a reusable read-ahead buffer. */
export class ByteSource {
  private buf: Buffer;
  private lo = 0;
  private hi = 0;

  /**
   * Bytes read beyond what is asked for: a block by default; the items' walk reads less (ITEM_READ_AHEAD), since a
   * chunk's small values and keys sit between column bins that are read directly, and what a block holds of a bin
   * is read twice or copied.
   */
  ahead: number;

  /**
   * Read on the calling thread (readSync) rather than by libuv's pool: for the replay, which reads columns into
   * the core's memory synchronously anyway, and for which a pool round trip per key was time spent waiting.
   */
  sync = false;

  /** `pos` is the file offset of the next unread byte (buf[lo]). */
  /** With a pool, the bins taken since the last `takenBins()` (the item being read). */
  private taken: Uint8Array[] = [];

  constructor(
    private readonly fh: FileHandle, public pos: number, readonly limit: number, private readonly blockBytes: number,
    private readonly pool: BinPool | null = null,
  ) {
    this.buf = Buffer.allocUnsafe(blockBytes);
    this.ahead = blockBytes;
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
      const want = Math.min(this.buf.length - this.hi, this.limit - fileEnd, Math.max(n - this.available, this.ahead));
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

  /**
   * The next dst.length bytes into dst, now: what the block holds of them is copied, the rest read from the file
   * straight into dst (a ChunkSink's memory, which may move when it grows, so no read may be left in flight).
   */
  readInto(dst: Uint8Array): void {
    const buffered = Math.min(this.available, dst.length);
    dst.set(this.buf.subarray(this.lo, this.lo + buffered));
    this.consume(buffered);
    for (let done = buffered; done < dst.length;) {
      const got = readSync(this.fh.fd, dst, done, dst.length - done, this.pos);
      if (got === 0) throw new Malformed(`the file ends at byte ${this.pos}, before byte ${this.limit} (did it change while being read?)`);
      done += got;
      this.pos += got;
    }
  }

  private async readFully(dst: Uint8Array, position: number): Promise<void> {
    for (let done = 0; done < dst.length;) done += await this.readAt(dst, done, dst.length - done, position + done);
  }

  private async readAt(dst: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    const bytesRead = this.sync ? readSync(this.fh.fd, dst, offset, length, position) : (await this.fh.read(dst, offset, length, position)).bytesRead;
    if (bytesRead === 0) throw new Malformed(`the file ends at byte ${position}, before byte ${this.limit} (did it change while being read?)`);
    return bytesRead;
  }
}

export type Decoded = { value: unknown; end: number } | "incomplete";

/** Decodes the first msgpack value of bytes, or says the bytes stop inside it. */
export function decodeFirst(bytes: Uint8Array): Decoded {
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
export async function readValue(src: ByteSource, max = MAX_SMALL_VALUE): Promise<unknown> {
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
export const MAX_HEADER_BYTES = 64 << 20;

/** fixmap, map 16 or map 32. */
export function isMapType(byte: number): boolean {
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
export interface ItemRead {
  at: number;
  fields: Map<string, unknown>;
  done: Promise<unknown>;
  /** The ChunkSink slot its columns went to (those whose fields hold a Placed), or -1. */
  slot: number;
}

/** Read-ahead of the items' walk (ByteSource.ahead): a chunk's small values and the next key fit. */
export const ITEM_READ_AHEAD = 4096;

/** A column that went to a ChunkSink's slot: ask the sink for a view of it when it is used. */
export class Placed {
  constructor(readonly name: ColumnName | RecordedColumnName, readonly rows: number) {}
}

const ELEMENT_BYTES = new Map<string, number>([...COLUMNS, ...RECORDED_COLUMNS]);

/**
 * Reads one top-level map. Its bin values go into fresh ArrayBuffers (so columns are aligned and never alias the
 * block buffer); other values go through msgpackr.
 */
export async function startItem(src: ByteSource, sink?: ChunkSink): Promise<ItemRead> {
  const at = src.pos;
  await src.fill(5);
  const map = mapHeader(src.window());
  if (map === undefined) throw new Malformed(src.available === 0 ? `a value runs past byte ${src.limit}` : "expected a map");
  src.consume(map[1]);
  const fields = new Map<string, unknown>();
  const reads: Promise<void>[] = [];
  // undefined: not asked yet; asked at the first column of a map already known to be a chunk of `length` rows
  let slot: number | undefined;
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
    const size = ELEMENT_BYTES.get(key);
    const rows = fields.get("length");
    if (sink !== undefined && size !== undefined && fields.get("kind") === "chunk" && isUint(rows) && rows > 0) {
      slot ??= sink.reserve(rows);
      if (slot >= 0 && bin[0] === rows * size) {
        // Straight into the sink's memory; a bin of another length is read as below and refused by the checks.
        src.readInto(sink.column(slot, key as ColumnName, rows));
        fields.set(key, new Placed(key as ColumnName, rows));
        continue;
      }
    }
    const { bytes, done } = await src.takeBytes(bin[0]);
    fields.set(key, bytes);
    reads.push(done);
  }
  const done = Promise.all(reads);
  done.catch(() => undefined); // a consumer that stops early never awaits it
  return { at, fields, done, slot: slot ?? -1 };
}

export function describe(v: unknown): string {
  if (v instanceof Uint8Array) return "a bin";
  if (Array.isArray(v)) return "an array";
  if (v === null || v === undefined) return "nil";
  return typeof v === "object" ? "a map" : `${typeof v} ${JSON.stringify(v)}`;
}
