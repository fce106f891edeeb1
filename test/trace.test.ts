// The .fbt format: write → read round trips (fast-check), and one test per kind of bad input the reader reports.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import fc from "fast-check";
import { Unpackr, pack, unpackMultiple } from "msgpackr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OP_FORGET, OP_LOOKUP, OP_OPEN, OP_RELEASE, OP_RESTART } from "../src/abi.js";
import { emptyColumns } from "../src/events.js";
import { COLUMNS, TRAILER_SIZE, columnBytes, encodeTrailer } from "../src/trace/format.js";
import {
  TraceError, TraceWriter, chunkCrc32, chunkFromColumns, openTrace, sliceChunk,
  type TraceBackingFile, type TraceChunk, type TraceFooter, type TraceHeader, type TraceItem,
} from "../src/trace/index.js";

let dir: string;
let fileNo = 0;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), "fbt-test-")); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });
const tmpFile = () => join(dir, `t${fileNo++}.fbt`);

const HEADER: Omit<TraceHeader, "format" | "version"> = {
  source: { format: "synth", seed: 7, params: { files: 3 } },
  workload: "unit test",
  recorder: { name: "trace.test", version: "1" },
  host_kernel: "6.9.0",
  created: "2025-01-01T00:00:00.000Z",
};

const backingFile = (i: number): TraceBackingFile => ({ dev: 1, ino: 100 + i, digest: new Uint8Array(32).fill(i), size: 10 * i, path: `/data/f${i}` });

/** A small chunk: rows open/release over nodeids and fhs, brefs below `brefs`, dt 1 after the first row. */
function smallChunk(length: number, t0: number, brefs: number, salt = 0): TraceChunk {
  const c = chunkFromColumns(emptyColumns(length), new Uint32Array(length), new Uint32Array(length), t0);
  for (let i = 0; i < length; i++) {
    c.op[i] = i % 2 === 0 ? OP_OPEN : OP_RELEASE;
    c.nodeid[i] = (i + salt) % 5;
    c.fh[i] = (i + salt) % 7;
    c.bref[i] = (i + salt) % brefs;
    c.fopen[i] = 0x80;
    c.pid[i] = 1000 + i;
    c.dt[i] = i === 0 ? 0 : 1;
  }
  return c;
}

async function readAll(path: string, blockBytes?: number) {
  const r = await openTrace(path, { blockBytes });
  const items: TraceItem[] = [];
  for await (const item of r.items()) items.push(item);
  return { r, items };
}

/** A valid three-chunk trace with backing extensions before chunks 0 and 2. */
async function sampleTrace(path = tmpFile()): Promise<string> {
  const w = await TraceWriter.create(path, HEADER);
  w.addBacking([backingFile(0), backingFile(1)]);
  await w.writeChunk(smallChunk(6, 0, 2));
  await w.writeChunk(smallChunk(5, 10, 2, 1));
  w.addBacking([backingFile(2)]);
  await w.writeChunk(smallChunk(4, 20, 3, 2));
  await w.close();
  return path;
}

interface Value { value: unknown; start: number; end: number }

/** The msgpack values before the trailer, with their byte ranges (header, items…, footer). */
function valuesOf(bytes: Buffer): Value[] {
  const values: Value[] = [];
  unpackMultiple(bytes.subarray(0, bytes.length - TRAILER_SIZE), (value: unknown, start?: number, end?: number) => {
    values.push({ value, start: start!, end: end! });
  });
  return values;
}

/** A copy of the trace at `path` with bits `mask` flipped in the byte `fromEnd` bytes before chunk 1 ends. */
async function flipInChunk1(path: string, fromEnd: number, mask: number): Promise<{ bad: string; chunk1: Value }> {
  const bytes = await readFile(path);
  const chunk1 = valuesOf(bytes)[3];
  const flipped = Buffer.from(bytes);
  flipped[chunk1.end - fromEnd] ^= mask;
  const bad = tmpFile();
  await writeFile(bad, flipped);
  return { bad, chunk1 };
}

/** Header, items and footer re-assembled with a fresh trailer. */
function assemble(parts: Uint8Array[], footer: Uint8Array): Buffer {
  const body = Buffer.concat(parts);
  const trailer = encodeTrailer({ footerOffset: body.length, footerLength: footer.length, footerCrc32: crc32(footer) });
  return Buffer.concat([body, footer, trailer]);
}

/** A chunk map as a msgpack library would write it, fields overridable. */
function rawChunk(index: number, c: TraceChunk, overrides: Record<string, unknown> = {}): Buffer {
  const cols = Object.fromEntries(COLUMNS.map(([name]) => [name, Buffer.from(columnBytes(c[name]))]));
  return pack({ kind: "chunk", index, length: c.length, t0: c.t0, crc32: chunkCrc32(c), ...cols, ...overrides });
}

function footerFor(chunks: TraceChunk[], backingFiles: number, overrides: Partial<TraceFooter> = {}): Buffer {
  let maxNodeid = -1, maxFh = -1, first = -1, last = 0;
  for (const c of chunks) {
    for (let i = 0; i < c.length; i++) { maxNodeid = Math.max(maxNodeid, c.nodeid[i]); maxFh = Math.max(maxFh, c.fh[i]); }
    if (first < 0) first = c.t0;
    last = c.t0 + c.dt.slice(1).reduce((a, b) => a + b, 0);
  }
  const footer: TraceFooter = {
    events: chunks.reduce((a, c) => a + c.length, 0), chunks: chunks.length, backing_files: backingFiles,
    max_nodeid: maxNodeid, max_fh: maxFh, duration_us: first < 0 ? 0 : last - first, chunk_crc32: chunks.map(chunkCrc32),
  };
  return pack({ kind: "footer", ...footer, ...overrides });
}

const headerBytes = (overrides: Record<string, unknown> = {}) => pack({ format: "fbreplay-trace", version: 1, ...HEADER, ...overrides });
const backingBytes = (first: number, files: TraceBackingFile[]) => pack({ kind: "backing", first, files });

/** A raw trace file: header, one backing extension of `backing` files, the chunks, footer. */
async function rawTrace(chunks: Buffer[], footer: Buffer, backing = 2, header = headerBytes()): Promise<string> {
  const path = tmpFile();
  const files = Array.from({ length: backing }, (_, i) => backingFile(i));
  await writeFile(path, assemble([header, ...(backing > 0 ? [backingBytes(0, files)] : []), ...chunks], footer));
  return path;
}

/**
 * Opens and streams the file; expects a one-line TraceError naming the file and the place. Returns the indexes of
 * the chunks yielded before the error.
 */
async function expectTraceError(path: string, where: string, reason: RegExp, blockBytes?: number): Promise<number[]> {
  const yielded: number[] = [];
  let err: unknown;
  try {
    const r = await openTrace(path, { blockBytes });
    for await (const item of r.items()) if (item.kind === "chunk") yielded.push(item.index);
  } catch (e) {
    err = e;
  }
  expect(err, "no error").toBeInstanceOf(TraceError);
  const msg = (err as TraceError).message;
  expect(msg).not.toMatch(/[\r\n]/);
  expect(msg.startsWith(`${path}: ${where}: `), msg).toBe(true);
  expect(msg).toMatch(reason);
  expect((err as TraceError).where).toBe(where);
  return yielded;
}

describe("round trip", () => {
  // A plan: backing extensions and chunks in file order. brefs of OPEN/LOOKUP rows are folded into the table size
  // at that point; with an empty table those rows become RELEASE.
  const u32 = fc.integer({ min: 0, max: 0xffffffff });
  const row = fc.record({
    op: fc.constantFrom(OP_OPEN, OP_OPEN, OP_RELEASE, OP_LOOKUP, OP_FORGET, OP_RESTART),
    nodeid: fc.oneof(fc.nat(9), u32), fh: fc.oneof(fc.nat(9), u32), bref: u32, oflags: u32, fopen: u32, pid: u32,
    dt: fc.oneof(fc.nat(3), u32),
  });
  const step = fc.oneof(
    { weight: 1, arbitrary: fc.record({ backing: fc.array(fc.record({
      dev: fc.nat(), ino: fc.maxSafeNat(), digest: fc.uint8Array({ minLength: 32, maxLength: 32 }), size: fc.maxSafeNat(),
      path: fc.string({ unit: "grapheme", maxLength: 20 }),
    }), { maxLength: 4 }) }) },
    { weight: 3, arbitrary: fc.record({ rows: fc.array(row, { minLength: 1, maxLength: 40 }), gap: fc.nat(1000) }) },
  );

  it("gives back the header, backing table and events byte for byte, for any chunking and block size", async () => {
    await fc.assert(fc.asyncProperty(fc.array(step, { maxLength: 10 }), fc.constantFrom(1, 5, 64, 1000, undefined), async (plan, blockBytes) => {
      const path = tmpFile();
      const w = await TraceWriter.create(path, HEADER);
      const table: TraceBackingFile[] = [];
      const chunks: TraceChunk[] = [];
      let last = 0;
      for (const s of plan) {
        if ("backing" in s) {
          expect(w.addBacking(s.backing)).toBe(table.length);
          table.push(...s.backing);
          continue;
        }
        const n = s.rows.length;
        const c = chunkFromColumns(emptyColumns(n), new Uint32Array(n), new Uint32Array(n), last + s.gap);
        s.rows.forEach((r, i) => {
          const refs = r.op === OP_OPEN || r.op === OP_LOOKUP;
          c.op[i] = refs && table.length === 0 ? OP_RELEASE : r.op;
          c.bref[i] = refs && table.length > 0 ? r.bref % table.length : r.bref;
          c.nodeid[i] = r.nodeid; c.fh[i] = r.fh; c.oflags[i] = r.oflags; c.fopen[i] = r.fopen; c.pid[i] = r.pid; c.dt[i] = r.dt;
        });
        await w.writeChunk(c);
        chunks.push(c);
        last = c.t0 + c.dt.slice(1).reduce((a, b) => a + b, 0);
      }
      const written = await w.close();
      expect(existsSync(`${path}.tmp`)).toBe(false);

      const { r, items } = await readAll(path, blockBytes);
      expect(r.header).toEqual({ format: "fbreplay-trace", version: 1, ...HEADER });
      expect(r.footer).toEqual(written);
      expect(r.footer).toMatchObject({ events: chunks.reduce((a, c) => a + c.length, 0), chunks: chunks.length, backing_files: table.length });
      expect(r.size).toBe((await readFile(path)).length);
      const readTable = items.flatMap((it) => (it.kind === "backing" ? it.files : []));
      expect(readTable).toEqual(table.map((f) => ({ ...f, digest: new Uint8Array(f.digest) })));
      const readChunks = items.flatMap((it) => (it.kind === "chunk" ? [it.chunk] : []));
      expect(readChunks.length).toBe(chunks.length);
      readChunks.forEach((got, k) => {
        const want = chunks[k];
        expect(got.length).toBe(want.length);
        expect(got.t0).toBe(want.t0);
        for (const [name, size] of COLUMNS) {
          expect(got[name]).toBeInstanceOf(size === 1 ? Uint8Array : Uint32Array);
          expect(Buffer.from(columnBytes(got[name])).equals(Buffer.from(columnBytes(want[name]))), name).toBe(true);
        }
      });
      // Backing extensions come before the chunks that need them, each starting where the table was.
      let size = 0;
      for (const it of items) {
        if (it.kind === "backing") { expect(it.first).toBe(size); size += it.files.length; }
      }
      await rm(path);
    }), { numRuns: 120 });
  });

  it("writes an empty trace with max -1", async () => {
    const path = tmpFile();
    const w = await TraceWriter.create(path, HEADER);
    const footer = await w.close();
    expect(footer).toEqual({ events: 0, chunks: 0, backing_files: 0, max_nodeid: -1, max_fh: -1, duration_us: 0, chunk_crc32: [] });
    const { r, items } = await readAll(path);
    expect(r.footer).toEqual(footer);
    expect(items).toEqual([]);
  });

  it("records totals in the footer: duration, largest nodeid and fh", async () => {
    const path = await sampleTrace();
    const { r } = await readAll(path);
    // chunks at t0 0, 10, 20 with dt 1 after the first row: the last event is at 20 + 3.
    expect(r.footer).toMatchObject({ events: 15, chunks: 3, backing_files: 3, max_nodeid: 4, max_fh: 5, duration_us: 23 });
  });

  it("streams large chunks (columns read in the background) and lets a consumer stop early", async () => {
    const path = tmpFile();
    const n = 200_000; // 800 KB columns: more than a read-ahead block
    const w = await TraceWriter.create(path, HEADER);
    w.addBacking([backingFile(0), backingFile(1)]);
    const written = [0, 1, 2].map((k) => smallChunk(n, k * 1_000_000, 2, k));
    for (const c of written) await w.writeChunk(c);
    await w.close();
    const { items } = await readAll(path);
    const chunks = items.flatMap((it) => (it.kind === "chunk" ? [it.chunk] : []));
    expect(chunks.length).toBe(3);
    chunks.forEach((c, k) => {
      expect(Buffer.from(columnBytes(c.fh)).equals(Buffer.from(columnBytes(written[k].fh)))).toBe(true);
      expect(c.nodeid.byteOffset % 4).toBe(0);
    });
    const r = await openTrace(path);
    for await (const item of r.items()) if (item.kind === "chunk") break; // the next chunk's reads are in flight
    await rm(path);
  });

  it("with reuseBuffers, gives the same events to a consumer that copies each chunk before the next, reusing buffers", async () => {
    const path = tmpFile();
    const w = await TraceWriter.create(path, HEADER);
    w.addBacking([backingFile(0), backingFile(1)]);
    for (let k = 0; k < 6; k++) await w.writeChunk(smallChunk(3000, k * 10_000, 2, k));
    await w.close();
    const copy = (c: TraceChunk) => ({ op: [...c.op], nodeid: [...c.nodeid], fh: [...c.fh], bref: [...c.bref], dt: [...c.dt] });
    const plain = (await readAll(path, 4096)).items.filter((i) => i.kind === "chunk").map((i) => copy((i as { chunk: TraceChunk }).chunk));
    const reused: ReturnType<typeof copy>[] = [];
    const buffers = new Set<ArrayBufferLike>();
    for await (const item of (await openTrace(path, { blockBytes: 4096, reuseBuffers: true })).items()) {
      if (item.kind !== "chunk") continue;
      reused.push(copy(item.chunk));
      buffers.add(item.chunk.nodeid.buffer);
    }
    expect(reused).toEqual(plain);
    expect(buffers.size).toBeLessThan(6); // columns of later chunks land in buffers of earlier ones
  });

  it("slices a chunk into chunks that read back as the same events", async () => {
    const path = tmpFile();
    const whole = smallChunk(10, 5, 1);
    const w = await TraceWriter.create(path, HEADER);
    w.addBacking([backingFile(0)]);
    for (const [a, b] of [[0, 3], [3, 4], [4, 10]]) await w.writeChunk(sliceChunk(whole, a, b));
    await w.close();
    const { items } = await readAll(path);
    const chunks = items.flatMap((it) => (it.kind === "chunk" ? [it.chunk] : []));
    expect(chunks.map((c) => [c.length, c.t0])).toEqual([[3, 5], [1, 8], [6, 9]]);
    expect(chunks.flatMap((c) => [...c.pid])).toEqual([...whole.pid]);
  });
});

describe("recorded columns (native captures)", () => {
  /** chunk 1 of the sample with recorded ids and verdicts. */
  async function recordedTrace(): Promise<{ path: string; chunk: TraceChunk }> {
    const path = tmpFile();
    const w = await TraceWriter.create(path, HEADER);
    w.addBacking([backingFile(0), backingFile(1)]);
    await w.writeChunk(smallChunk(6, 0, 2));
    const chunk = smallChunk(5, 10, 2, 1);
    chunk.bid = Uint32Array.from([7, 0, 8, 0, 9]);
    chunk.verdict = Uint8Array.from([1, 0, 2, 0, 1]);
    await w.writeChunk(chunk);
    await w.close();
    return { path, chunk };
  }

  it("round-trip beside chunks without them", async () => {
    const { path, chunk } = await recordedTrace();
    const chunks = (await readAll(path)).items.filter((i) => i.kind === "chunk").map((i) => (i as { chunk: TraceChunk }).chunk);
    expect(chunks[0].bid).toBeUndefined();
    expect(chunks[0].verdict).toBeUndefined();
    expect([...chunks[1].bid!]).toEqual([...chunk.bid!]);
    expect([...chunks[1].verdict!]).toEqual([...chunk.verdict!]);
    expect([...chunks[1].op]).toEqual([...chunk.op]);
  });

  it("report a flipped byte in a recorded column as a CRC mismatch of its own", async () => {
    const { path } = await recordedTrace();
    const { bad, chunk1 } = await flipInChunk1(path, 2, 0x01); // inside the last column (verdict) of chunk 1
    expect(await expectTraceError(bad, `chunk 1 (byte ${chunk1.start})`, /CRC-32 of the recorded columns is 0x[0-9a-f]{8}, the chunk says 0x[0-9a-f]{8}/)).toEqual([0]);
  });

  it("are refused by the writer when their length is not the chunk's", async () => {
    const w = await TraceWriter.create(tmpFile(), HEADER);
    w.addBacking([backingFile(0)]);
    const chunk = smallChunk(4, 0, 1);
    chunk.bid = new Uint32Array(3);
    await expect(w.writeChunk(chunk)).rejects.toThrow(/recorded column bid must be a Uint32Array of 4 rows/);
    await w.abort();
  });
});

describe("writer", () => {
  it("writes to path.tmp and renames on close; abort deletes the temp file", async () => {
    const path = tmpFile();
    const w = await TraceWriter.create(path, HEADER);
    w.addBacking([backingFile(0)]);
    await w.writeChunk(smallChunk(3, 0, 1));
    expect(existsSync(`${path}.tmp`)).toBe(true);
    expect(existsSync(path)).toBe(false);
    await w.abort();
    expect(existsSync(`${path}.tmp`)).toBe(false);
    expect(existsSync(path)).toBe(false);
  });

  it("refuses chunks a reader would reject, and stays usable", async () => {
    const path = tmpFile();
    const w = await TraceWriter.create(path, HEADER);
    expect(w.addBacking([backingFile(0)])).toBe(0);
    const short = smallChunk(4, 0, 1);
    short.nodeid = new Uint32Array(3);
    await expect(w.writeChunk(short)).rejects.toThrow(/chunk 0: column nodeid has 3 rows, the chunk has 4/);
    const wrongType = smallChunk(4, 0, 1);
    (wrongType as unknown as { fh: Uint8Array }).fh = new Uint8Array(4);
    await expect(w.writeChunk(wrongType)).rejects.toThrow(/column fh must be a Uint32Array/);
    await expect(w.writeChunk(smallChunk(4, 0, 3))).rejects.toThrow(/row 2: references backing file 2 but the backing table has 1 entries/);
    await w.writeChunk(smallChunk(4, 100, 1));
    await expect(w.writeChunk(smallChunk(4, 102, 1))).rejects.toThrow(/events out of order: t0 102 us is earlier than the previous chunk's last event at 103 us/);
    expect(() => w.addBacking([{ ...backingFile(1), digest: new Uint8Array(31) }])).toThrow(/backing file 1: digest must be a bin of 32 bytes/);
    expect(w.addBacking([backingFile(1)])).toBe(1);
    await w.writeChunk(smallChunk(4, 103, 2));
    const footer = await w.close();
    expect(footer).toMatchObject({ events: 8, chunks: 2, backing_files: 2 });
    const { items } = await readAll(path);
    expect(items.map((it) => it.kind)).toEqual(["backing", "chunk", "backing", "chunk"]);
  });

  it("writes integers beyond 32 bits as msgpack integers, not floats", async () => {
    const path = tmpFile();
    const w = await TraceWriter.create(path, HEADER);
    w.addBacking([{ ...backingFile(0), ino: 2 ** 40 + 1, size: Number.MAX_SAFE_INTEGER }]);
    const c = smallChunk(2, 2 ** 33, 1);
    await w.writeChunk(c);
    await w.close();
    const values: unknown[] = [];
    new Unpackr({ useRecords: false, int64AsType: "bigint" }).unpackMultiple((await readFile(path)).subarray(0, -TRAILER_SIZE), (v: unknown) => { values.push(v); });
    expect(values[1]).toMatchObject({ files: [{ ino: 2n ** 40n + 1n, size: BigInt(Number.MAX_SAFE_INTEGER) }] });
    expect(values[2]).toMatchObject({ t0: 2n ** 33n });
    const { r, items } = await readAll(path);
    expect(items[0]).toMatchObject({ files: [{ ino: 2 ** 40 + 1, size: Number.MAX_SAFE_INTEGER }] });
    expect(items[1]).toMatchObject({ chunk: { t0: 2 ** 33 } });
    expect(r.footer.duration_us).toBe(1);
  });

  it("splits a large backing table into several extensions", async () => {
    const path = tmpFile();
    const w = await TraceWriter.create(path, HEADER);
    const files = Array.from({ length: 40000 }, (_, i) => backingFile(i % 200));
    w.addBacking(files);
    await w.close();
    const { r, items } = await readAll(path);
    expect(items.map((it) => (it.kind === "backing" ? [it.first, it.files.length] : []))).toEqual([[0, 16384], [16384, 16384], [32768, 7232]]);
    expect(r.footer.backing_files).toBe(40000);
  });
});

describe("bad input", () => {
  it("reports truncation at every cut point before any replay", async () => {
    const path = await sampleTrace();
    const bytes = await readFile(path);
    const headerEnd = valuesOf(bytes)[0].end;
    for (let cut = 0; cut < bytes.length; cut++) {
      const cutPath = tmpFile();
      await writeFile(cutPath, bytes.subarray(0, cut));
      let err: unknown;
      try {
        await openTrace(cutPath); // fails up front: no items() needed
      } catch (e) {
        err = e;
      }
      expect(err, `cut at ${cut}`).toBeInstanceOf(TraceError);
      const { where, message } = err as TraceError;
      expect(where).toBe(cut < headerEnd ? "byte 0" : "trailer");
      expect(message).toMatch(cut === 0 ? /empty file/ : cut < headerEnd ? /ends inside the header \(truncated\)/ : /truncated/);
      expect(message.startsWith(`${cutPath}: ${where}: `)).toBe(true);
      await rm(cutPath);
    }
  });

  it("reports a flipped byte in a column as a CRC mismatch of that chunk, after yielding the good ones", async () => {
    const { bad, chunk1 } = await flipInChunk1(await sampleTrace(), 3, 0x40); // inside the last column (dt) of chunk 1
    for (const blockBytes of [undefined, 3]) {
      const yielded = await expectTraceError(bad, `chunk 1 (byte ${chunk1.start})`, /CRC-32 of the columns is 0x[0-9a-f]{8}, the chunk says 0x[0-9a-f]{8}/, blockBytes);
      expect(yielded).toEqual([0]);
    }
  });

  it("reports a chunk CRC that differs from the footer's list", async () => {
    const a = smallChunk(3, 0, 2);
    const b = smallChunk(3, 10, 2, 1);
    const footer = footerFor([a, b], 2, { chunk_crc32: [chunkCrc32(a), (chunkCrc32(b) ^ 1) >>> 0] });
    const path = await rawTrace([rawChunk(0, a), rawChunk(1, b)], footer);
    const at = valuesOf(await readFile(path))[3].start;
    expect(await expectTraceError(path, `chunk 1 (byte ${at})`, /CRC-32 0x[0-9a-f]{8} differs from the footer's 0x[0-9a-f]{8} for this chunk/)).toEqual([0]);
  });

  it("reports a corrupt footer through the trailer's CRC", async () => {
    const path = await sampleTrace();
    const bytes = await readFile(path);
    const footer = valuesOf(bytes).at(-1)!;
    bytes[footer.end - 1] ^= 1;
    await writeFile(path, bytes);
    await expectTraceError(path, `footer (byte ${footer.start})`, /CRC-32 of the footer is .* the trailer says .* \(corrupt\)/);
  });

  it("reports a wrong trailer magic, and a file that is not a trace", async () => {
    const path = await sampleTrace();
    const bytes = await readFile(path);
    bytes.write("XXXX", bytes.length - 4, "latin1");
    await writeFile(path, bytes);
    await expectTraceError(path, "trailer", /no "FBTR" trailer at the end of the file \(found "XXXX"\)/);

    const text = tmpFile();
    await writeFile(text, "hello, world\n");
    await expectTraceError(text, "byte 0", /not an fbreplay trace/);

    const other = await rawTrace([], footerFor([], 0), 0, headerBytes({ format: "something-else" }));
    await expectTraceError(other, "byte 0", /not an fbreplay trace: format is "something-else", expected "fbreplay-trace"/);

    const notMap = tmpFile();
    await writeFile(notMap, assemble([pack([1, 2, 3])], footerFor([], 0)));
    await expectTraceError(notMap, "byte 0", /not an fbreplay trace: the first value is not a header map/);
  });

  it("carries the footer's optional ambiguous_releases; a trace without it reads as not saying; a bad one is an error", async () => {
    const a = smallChunk(3, 0, 2);
    const older = await openTrace(await rawTrace([rawChunk(0, a)], footerFor([a], 2)));
    expect(older.footer.ambiguous_releases).toBeUndefined();
    const said = await openTrace(await rawTrace([rawChunk(0, a)], footerFor([a], 2, { ambiguous_releases: 3 })));
    expect(said.footer.ambiguous_releases).toBe(3);
    const bad = await rawTrace([rawChunk(0, a)], footerFor([a], 2, { ambiguous_releases: -1 }));
    const footerAt = valuesOf(await readFile(bad)).at(-1)!.start;
    await expectTraceError(bad, `footer (byte ${footerAt})`, /ambiguous_releases must be a non-negative integer, got -1/);
  });

  it("reports an unknown version", async () => {
    const path = await rawTrace([], footerFor([], 0), 0, headerBytes({ version: 99 }));
    await expectTraceError(path, "byte 0", /unknown version 99: this reader reads version 1/);
  });

  it("reports malformed msgpack and items that are not chunk or backing maps", async () => {
    const footer = footerFor([], 2);
    const bad = await rawTrace([Buffer.from([0xc1])], footer); // 0xc1 is never used in msgpack
    const at = valuesOf(await readFile(await rawTrace([], footer))).at(-1)!.start; // where the item starts
    await expectTraceError(bad, `item at byte ${at}`, /expected a map/);
    const badKey = await rawTrace([Buffer.from([0x81, 0xd4, 0x05, 0x00, 0x01])], footer); // unknown ext type 5
    await expectTraceError(badKey, `item at byte ${at}`, /malformed msgpack: Unknown extension 5/);
    const unknown = await rawTrace([pack({ kind: "comment", text: "hi" })], footer);
    await expectTraceError(unknown, `item at byte ${at}`, /unknown item kind string "comment"/);
    const runsPast = await rawTrace([Buffer.from([0x81, 0xa1, 0x78, 0xc6, 0, 0, 1, 0])], footer); // bin of 256 bytes
    await expectTraceError(runsPast, `item at byte ${at}`, /x: a bin of 256 bytes runs past byte/);
  });

  it("reports inconsistent column lengths and columns of the wrong type", async () => {
    const c = smallChunk(4, 0, 2);
    const footer = footerFor([c], 2);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ nodeid: Buffer.alloc(12) }, /inconsistent column lengths: column nodeid has 12 bytes, expected 4 × 4 rows = 16/],
      [{ op: Buffer.alloc(5) }, /inconsistent column lengths: column op has 5 bytes, expected 1 × 4 rows = 4/],
      [{ length: 5 }, /inconsistent column lengths: column op has 4 bytes, expected 1 × 5 rows = 5/],
      [{ fh: [1, 2, 3, 4] }, /column fh is an array, expected a bin/],
      [{ dt: "abcd" }, /column dt is string "abcd", expected a bin/],
      [{ pid: null }, /column pid is nil, expected a bin/],
      [{ t0: -1 }, /t0 is number -1, expected a non-negative integer/],
      [{ index: 1 }, /index field is 1, expected 0/],
    ];
    for (const [overrides, reason] of cases) {
      const path = await rawTrace([rawChunk(0, c, overrides)], footer);
      const at = valuesOf(await readFile(path))[2].start;
      expect(await expectTraceError(path, `chunk 0 (byte ${at})`, reason)).toEqual([]);
    }
  });

  it("reports a bref beyond the backing table at that point", async () => {
    const c = smallChunk(4, 0, 3); // row 2 opens bref 2
    const path = await rawTrace([rawChunk(0, c)], footerFor([c], 2), 2);
    const at = valuesOf(await readFile(path))[2].start;
    await expectTraceError(path, `chunk 0 (byte ${at})`, /row 2: references backing file 2 but the backing table has 2 entries at this point/);

    // The entry exists, but only after the chunk.
    const late = tmpFile();
    const files = [0, 1, 2].map(backingFile);
    await writeFile(late, assemble([headerBytes(), backingBytes(0, files.slice(0, 2)), rawChunk(0, c), backingBytes(2, files.slice(2))], footerFor([c], 3)));
    await expectTraceError(late, `chunk 0 (byte ${at})`, /references backing file 2/);

    // A backing extension that does not start at the end of the table.
    const gap = tmpFile();
    await writeFile(gap, assemble([headerBytes(), backingBytes(0, files.slice(0, 2)), backingBytes(3, files.slice(2))], footerFor([], 3)));
    await expectTraceError(gap, `backing extension (byte ${at})`, /first is number 3, but the backing table has 2 entries here/);

    // RELEASE rows carry no reference: their bref is not checked.
    const rel = smallChunk(2, 0, 1);
    rel.op.fill(OP_RELEASE);
    rel.bref.fill(77);
    const ok = await rawTrace([rawChunk(0, rel)], footerFor([rel], 0), 0);
    expect((await readAll(ok)).items.length).toBe(1);
  });

  it("reports events out of order", async () => {
    const a = smallChunk(5, 100, 2); // last event at 104
    const b = smallChunk(3, 103, 2);
    const path = await rawTrace([rawChunk(0, a), rawChunk(1, b)], footerFor([a, b], 2));
    const at = valuesOf(await readFile(path))[3].start;
    const yielded = await expectTraceError(path, `chunk 1 (byte ${at})`, /events out of order: t0 103 us is earlier than the previous chunk's last event at 104 us/);
    expect(yielded).toEqual([0]);
  });

  it("reports counts that differ from the footer at the end", async () => {
    const a = smallChunk(3, 0, 2);
    const b = smallChunk(3, 10, 2);
    const cases: [Partial<TraceFooter>, RegExp][] = [
      [{ events: 7 }, /the footer says events = 7 but the file holds 6/],
      [{ backing_files: 3 }, /the footer says backing_files = 3 but the file holds 2/],
      [{ max_fh: 9 }, /the footer says max_fh = 9 but the file holds 2/],
      [{ duration_us: 1 }, /the footer says duration_us = 1 but the file holds 12/],
      [{ chunks: 3, chunk_crc32: [chunkCrc32(a), chunkCrc32(b), 5] }, /the footer says chunks = 3 but the file holds 2/],
    ];
    for (const [overrides, reason] of cases) {
      const path = await rawTrace([rawChunk(0, a), rawChunk(1, b)], footerFor([a, b], 2, overrides));
      const footerAt = valuesOf(await readFile(path)).at(-1)!.start;
      expect(await expectTraceError(path, `footer (byte ${footerAt})`, reason)).toEqual([0, 1]);
    }
    // More chunks than the footer lists: caught at the extra chunk.
    const path = await rawTrace([rawChunk(0, a), rawChunk(1, b)], footerFor([a], 2));
    const at = valuesOf(await readFile(path))[3].start;
    await expectTraceError(path, `chunk 1 (byte ${at})`, /more chunks than the footer's 1/);
    // A footer whose list and count disagree is rejected up front.
    const inconsistent = await rawTrace([rawChunk(0, a)], footerFor([a], 2, { chunks: 2 }));
    await expectTraceError(inconsistent, `footer (byte ${valuesOf(await readFile(inconsistent)).at(-1)!.start})`, /chunk_crc32 lists 1 CRCs for 2 chunks/);
  });

  it("reports trailing garbage and values after the footer", async () => {
    const path = await sampleTrace();
    const bytes = await readFile(path);
    const appended = tmpFile();
    await writeFile(appended, Buffer.concat([bytes, Buffer.from("garbage")]));
    await expectTraceError(appended, "trailer", /truncated, has bytes appended, or is not an fbreplay trace/);

    // A value between the footer and the trailer, the trailer still pointing at the footer.
    const values = valuesOf(bytes);
    const footer = values.at(-1)!;
    const footerBytes = bytes.subarray(footer.start, footer.end);
    const extra = pack({ kind: "chunk" });
    const between = tmpFile();
    const trailer = encodeTrailer({ footerOffset: footer.start, footerLength: footerBytes.length, footerCrc32: crc32(footerBytes) });
    await writeFile(between, Buffer.concat([bytes.subarray(0, footer.end), extra, trailer]));
    await expectTraceError(between, `footer (byte ${footer.start})`, new RegExp(`unexpected values after the footer: ${extra.length} bytes before the trailer`));

    // A footer length that takes in a second value.
    const covering = tmpFile();
    const both = Buffer.concat([footerBytes, extra]);
    await writeFile(covering, Buffer.concat([bytes.subarray(0, footer.start), both, encodeTrailer({ footerOffset: footer.start, footerLength: both.length, footerCrc32: crc32(both) })]));
    await expectTraceError(covering, `footer (byte ${footer.start})`, new RegExp(`unexpected values after the footer: ${extra.length} bytes`));
  });
});

describe("synth → write → read", () => {
  it("gives back exactly the events and backing files synth generated, for any seed and size", async () => {
    const { synth } = await import("../src/synth/index.js");
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 30_000 }), fc.nat(), fc.integer({ min: 100, max: 5000 }), async (events, seed, chunkRows) => {
      const options = { events, seed, inodes: 500, chunkRows, replaceRate: 0.02, redownloadRate: 0.02, forgetRate: 0.05 };
      const path = tmpFile();
      const w = await TraceWriter.create(path, HEADER);
      for (const item of synth(options)) {
        if (item.backing) w.addBacking(item.backing);
        if (item.chunk) await w.writeChunk(item.chunk);
      }
      await w.close();
      const expected = [...synth(options)];
      const reader = await openTrace(path);
      const got: TraceItem[] = [];
      for await (const item of reader.items()) got.push(item);
      const expectedBacking = expected.flatMap((i) => i.backing ?? []);
      const gotBacking = got.flatMap((i) => (i.kind === "backing" ? i.files : []));
      expect(gotBacking).toEqual(expectedBacking);
      const expectedChunks = expected.flatMap((i) => (i.chunk ? [i.chunk] : []));
      const gotChunks = got.flatMap((i) => (i.kind === "chunk" ? [i.chunk] : []));
      expect(gotChunks.length).toBe(expectedChunks.length);
      gotChunks.forEach((c, k) => {
        for (const col of ["op", "nodeid", "fh", "bref", "oflags", "fopen", "pid", "dt"] as const) {
          expect(Buffer.from(c[col].buffer, c[col].byteOffset, c[col].byteLength).equals(Buffer.from(expectedChunks[k][col].buffer, expectedChunks[k][col].byteOffset, expectedChunks[k][col].byteLength)), col).toBe(true);
        }
        expect(c.t0).toBe(expectedChunks[k].t0);
      });
      expect(reader.footer.events).toBe(events);
      await rm(path);
    }), { numRuns: 25 });
  });
});
