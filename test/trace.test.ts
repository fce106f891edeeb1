// The .fbt format: write → read round trips (fast-check), recorded columns, the writer's own rules, and synth's
// traces read back. Bad input: trace-errors.test.ts; format versions and columns landing in the core: trace-v2.test.ts.
import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import fc from "fast-check";
import { Unpackr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { OP_FORGET, OP_LOOKUP, OP_OPEN, OP_RELEASE, OP_RESTART } from "../src/abi.js";
import { emptyColumns } from "../src/events.js";
import { COLUMNS, TRAILER_SIZE, columnBytes } from "../src/trace/format.js";
import { TraceWriter, chunkFromColumns, openTrace, sliceChunk, type TraceBackingFile, type TraceChunk, type TraceItem } from "../src/trace/index.js";
import { HEADER, backingFile, expectTraceError, flipInChunk1, readAll, sampleTrace, smallChunk, tmpFile, useTmpDir } from "./trace-helpers.js";

useTmpDir();

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

  it("gives back the header, backing table and events byte for byte, for any chunking, block size and format version", async () => {
    const version = fc.constantFrom<1 | 2>(1, 2);
    await fc.assert(fc.asyncProperty(fc.array(step, { maxLength: 10 }), fc.constantFrom(1, 5, 64, 1000, undefined), version, async (plan, blockBytes, v) => {
      const path = tmpFile();
      const w = await TraceWriter.create(path, HEADER, { version: v });
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
      expect(r.header).toEqual({ format: "fbreplay-trace", version: v, ...HEADER });
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

  it("writes integers beyond 32 bits as msgpack integers, not floats (version 1 backing maps, and chunks)", async () => {
    const path = tmpFile();
    const w = await TraceWriter.create(path, HEADER, { version: 1 });
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
