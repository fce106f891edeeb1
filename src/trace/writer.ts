// Streaming writer of .fbt files: one chunk at a time goes from the caller's arrays straight to the file, so memory
// does not grow with the trace. The file is written as `path.tmp` and renamed on close: a crash or an abort never
// leaves a file under the final name, and a torn temp file has no trailer, which the reader reports.
import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { crc32 } from "node:zlib";
import { Packr } from "msgpackr";
import { BACKING_FILES_PER_EXTENSION, chunkCrc32, checkHeader, encodeChunk, encodeTrailer, oneLine } from "./format.js";
import { TraceTotals, checkChunkEvents, checkChunkShape, scanChunk } from "./checks.js";
import { checkBackingFile, encodeBackingColumns } from "./backing.js";
import { TRACE_FORMAT, TRACE_VERSION, TraceError, type TraceBackingFile, type TraceChunk, type TraceFooter, type TraceHeader } from "./types.js";

// Plain msgpack maps (no msgpackr record extension) so any msgpack library can read the file.
const packr = new Packr({ useRecords: false, variableMapSize: true });

/**
 * msgpackr writes integers beyond 32 bits as float64; as BigInts it writes them as msgpack integers, which is what
 * FORMAT.md asks for (a C or Python reader then gets an int, not a float).
 */
function wireValue(v: unknown): unknown {
  if (typeof v === "number") return Number.isSafeInteger(v) && (v > 0xffffffff || v < -0x80000000) ? BigInt(v) : v; // beyond 2^53: a float, as it is
  if (Array.isArray(v)) return v.map(wireValue);
  if (typeof v === "object" && v !== null && !ArrayBuffer.isView(v)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, wireValue(x)]));
  }
  return v;
}

/** msgpackr may reuse its output buffer for the next pack: take a copy we own. */
function pack(value: unknown): Buffer {
  return Buffer.from(packr.pack(wireValue(value)));
}

async function writeFully(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

export class TraceWriter {
  private offset = 0;
  private readonly totals = new TraceTotals();
  /** Backing files added since the last chunk; written as extensions right before the next chunk. */
  private pending: TraceBackingFile[] = [];
  private busy = false;
  private state: "open" | "closed" | "failed" = "open";

  private constructor(
    readonly path: string, readonly tmpPath: string, private readonly fh: FileHandle, private readonly version: number,
  ) {}

  /**
   * `options.version`: the format version to write, TRACE_VERSION by default; 1 (the backing table as a msgpack map
   * per file) is kept so that the tests can make files as older fbreplay versions wrote them.
   */
  static async create(path: string, header: Omit<TraceHeader, "format" | "version">, options: { version?: 1 | 2 } = {}): Promise<TraceWriter> {
    const version = options.version ?? TRACE_VERSION;
    // format and version first in the file, and not overridable by a caller that passes them anyway.
    const full = Object.assign({ format: TRACE_FORMAT, version }, header, { format: TRACE_FORMAT, version });
    const bad = checkHeader(full);
    if (bad !== undefined) throw new TraceError(path, "header", bad);
    const tmpPath = `${path}.tmp`;
    const writer = new TraceWriter(path, tmpPath, await open(tmpPath, "w"), version);
    try {
      await writer.guard(() => writer.append(pack(full)));
    } catch (e) {
      await writer.abort();
      throw e;
    }
    return writer;
  }

  /** Number of backing files so far, including those not written yet. */
  get backingFiles(): number {
    return this.totals.backingFiles + this.pending.length;
  }

  /** Appends to the backing table; returns the bref of the first file added. */
  addBacking(files: TraceBackingFile[]): number {
    this.checkUsable();
    const first = this.backingFiles;
    files.forEach((f, i) => {
      const bad = checkBackingFile(f);
      if (bad !== undefined) throw new TraceError(this.path, `backing file ${first + i}`, bad);
    });
    for (const f of files) this.pending.push({ dev: f.dev, ino: f.ino, digest: f.digest, size: f.size, path: f.path });
    return first;
  }

  /**
   * Validates the chunk as a reader would, then writes it. The chunk's arrays may be reused once this resolves.
   * A chunk that fails validation is not written and the writer stays usable.
   */
  async writeChunk(chunk: TraceChunk): Promise<void> {
    this.checkUsable();
    const index = this.totals.chunks;
    const where = `chunk ${index}`;
    const badShape = checkChunkShape(chunk);
    if (badShape !== undefined) throw new TraceError(this.path, where, badShape);
    const backingFiles = this.backingFiles;
    const scan = scanChunk(chunk, { backingFiles, maxNodeid: 0xffffffff, maxFh: 0xffffffff });
    const badEvents = checkChunkEvents(chunk, scan, this.totals.lastTime);
    if (badEvents !== undefined) throw new TraceError(this.path, where, badEvents);
    const crc = chunkCrc32(chunk);
    await this.guard(async () => {
      await this.flushBacking();
      for (const part of encodeChunk(index, chunk, crc)) await this.append(part);
    });
    this.totals.addChunk(chunk, scan, crc);
  }

  /**
   * Writes the footer and trailer, syncs, and renames the temp file to `path`. `notes`: the footer's optional
   * figures a source knows only at the end (FORMAT.md, "Footer").
   */
  async close(notes: Pick<TraceFooter, "ambiguous_releases" | "ambiguous_ids"> = {}): Promise<TraceFooter> {
    this.checkUsable();
    let footer = this.totals.footer();
    await this.guard(async () => {
      await this.flushBacking();
      footer = {
        ...this.totals.footer(),
        ...(notes.ambiguous_releases === undefined ? {} : { ambiguous_releases: notes.ambiguous_releases }),
        ...(notes.ambiguous_ids === undefined ? {} : { ambiguous_ids: notes.ambiguous_ids }),
      };
      const bytes = pack({ kind: "footer", ...footer });
      const footerOffset = this.offset;
      await this.append(bytes);
      await this.append(encodeTrailer({ footerOffset, footerLength: bytes.length, footerCrc32: crc32(bytes) }));
      await this.fh.datasync();
      await this.fh.close();
      await rename(this.tmpPath, this.path);
    });
    this.state = "closed";
    return footer;
  }

  /** Drops the trace: closes and deletes the temp file. Safe to call in any state. */
  async abort(): Promise<void> {
    if (this.state === "closed") return;
    this.state = "closed";
    await this.fh.close().catch(() => undefined);
    await rm(this.tmpPath, { force: true });
  }

  private async flushBacking(): Promise<void> {
    while (this.pending.length > 0) {
      const files = this.pending.splice(0, BACKING_FILES_PER_EXTENSION);
      const first = this.totals.backingFiles;
      if (this.version === 1) await this.append(pack({ kind: "backing", first, files }));
      else for (const part of encodeBackingColumns(first, files)) await this.append(part);
      this.totals.backingFiles += files.length;
    }
  }

  private async append(bytes: Uint8Array): Promise<void> {
    await writeFully(this.fh, bytes, this.offset);
    this.offset += bytes.length;
  }

  private checkUsable(): void {
    if (this.state === "closed") throw new Error(`${this.path}: trace writer is closed`);
    if (this.state === "failed") throw new Error(`${this.path}: trace writer failed earlier; abort() it`);
    if (this.busy) throw new Error(`${this.path}: trace writer used before the previous call finished (await each call)`);
  }

  /** Runs one file operation; after an I/O error the file is in an unknown state and only abort() is allowed. */
  private async guard(op: () => Promise<void>): Promise<void> {
    this.busy = true;
    try {
      await op();
    } catch (e) {
      this.state = "failed";
      throw new Error(oneLine(`${this.tmpPath}: writing the trace failed: ${(e as Error).message}`), { cause: e });
    } finally {
      this.busy = false;
    }
  }
}
