// Format versions: version 2 stores the backing table as columns (traces/FORMAT.md, "Backing extension"); files
// written as version 1 (the bundled traces, and TraceWriter's { version: 1 }) still read, and both versions give
// the same items. Bad version 2 extensions get the one-line errors of the reader.
import { readFile, writeFile } from "node:fs/promises";
import { crc32 } from "node:zlib";
import { pack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { BACKING_COLUMNS } from "../src/trace/backing.js";
import { TraceWriter, openTrace, type TraceItem } from "../src/trace/index.js";
import {
  HEADER, assemble, backingFile, expectTraceError, footerFor, headerBytes, rawChunk, readAll, smallChunk, tmpFile, useTmpDir, valuesOf,
} from "./trace-helpers.js";

useTmpDir();

/** Every item of a trace, with column views copied out (a reader may reuse its buffers). */
async function itemsOf(path: string): Promise<{ version: number; items: TraceItem[] }> {
  const r = await openTrace(path);
  const items: TraceItem[] = [];
  for await (const item of r.items()) items.push(item);
  return { version: r.header.version, items };
}

/** Rewrites a trace with TraceWriter at `version`, item by item. */
async function rewrite(from: string, version: 1 | 2): Promise<string> {
  const r = await openTrace(from);
  const { format: _f, version: _v, ...header } = r.header;
  const path = tmpFile();
  const w = await TraceWriter.create(path, header, { version });
  for await (const item of r.items()) {
    if (item.kind === "backing") w.addBacking(item.files);
    else await w.writeChunk(item.chunk);
  }
  await w.close(r.footer.ambiguous_releases === undefined ? {} : { ambiguous_releases: r.footer.ambiguous_releases });
  return path;
}

/** A version 2 backing extension map of `files` files whose columns may be replaced; crc32 over the columns given. */
function rawBackingColumns(first: number, n: number, overrides: Record<string, unknown> = {}): Buffer {
  const files = Array.from({ length: n }, (_, i) => backingFile(first + i));
  const u64 = (key: "dev" | "ino" | "size") => Buffer.from(new BigUint64Array(files.map((f) => BigInt(f[key]))).buffer);
  const paths = files.map((f) => Buffer.from(f.path));
  let end = 0;
  const cols: Record<string, unknown> = {
    dev: u64("dev"), ino: u64("ino"), size: u64("size"), digest: Buffer.concat(files.map((f) => f.digest)),
    path_end: Buffer.from(new Uint32Array(paths.map((p) => (end += p.length))).buffer), path: Buffer.concat(paths),
    ...overrides,
  };
  let crc = 0;
  for (const [name] of BACKING_COLUMNS) if (cols[name] instanceof Uint8Array) crc = crc32(cols[name] as Uint8Array, crc);
  return pack({ kind: "backing", first, count: n, crc32: crc, ...cols, ...(("crc32" in overrides) ? { crc32: overrides.crc32 } : {}) });
}

async function rawV2Trace(backing: Buffer): Promise<string> {
  const path = tmpFile();
  const chunk = smallChunk(4, 0, 2);
  await writeFile(path, assemble([headerBytes({ version: 2 }), backing, rawChunk(0, chunk)], footerFor([chunk], 2)));
  return path;
}

describe("format versions", () => {
  it("a bundled version 1 trace and its version 2 and version 1 rewrites read back as the same items", async () => {
    const v1 = await itemsOf("traces/sqlite-held-hp.fbt");
    expect(v1.version).toBe(1);
    const v2 = await itemsOf(await rewrite("traces/sqlite-held-hp.fbt", 2));
    expect(v2.version).toBe(2);
    expect(v2.items).toEqual(v1.items);
    const again = await itemsOf(await rewrite("traces/sqlite-held-hp.fbt", 1));
    expect(again.version).toBe(1);
    expect(again.items).toEqual(v1.items);
    expect(v1.items.some((it) => it.kind === "backing" && it.files.length > 0)).toBe(true);
  });

  it("version 2 writes the backing table as columns, smaller than a map per file", async () => {
    const files = Array.from({ length: 1000 }, (_, i) => ({ ...backingFile(i), ino: 2 ** 40 + i, size: Number.MAX_SAFE_INTEGER - i }));
    const sizes: number[] = [];
    for (const version of [1, 2] as const) {
      const path = tmpFile();
      const w = await TraceWriter.create(path, HEADER, { version });
      w.addBacking(files);
      await w.close();
      sizes.push((await readFile(path)).length);
      const { items } = await readAll(path);
      expect(items).toEqual([{ kind: "backing", first: 0, files }]);
      const columns = items[0].kind === "backing" ? items[0].columns : undefined;
      expect(columns?.count).toBe(version === 2 ? 1000 : undefined);
    }
    expect(sizes[1]).toBeLessThan(sizes[0]);
  });

  it("reports a flipped byte in a backing column as a CRC mismatch of that extension", async () => {
    const path = tmpFile();
    const w = await TraceWriter.create(path, HEADER);
    w.addBacking([backingFile(0), backingFile(1)]);
    await w.writeChunk(smallChunk(4, 0, 2));
    await w.close();
    const bytes = await readFile(path);
    const ext = valuesOf(bytes)[1];
    const flipped = Buffer.from(bytes);
    flipped[ext.end - 1] ^= 0x01; // the last byte of the path column
    const bad = tmpFile();
    await writeFile(bad, flipped);
    await expectTraceError(bad, `backing extension (byte ${ext.start})`, /CRC-32 of the columns is 0x[0-9a-f]{8}, the extension says 0x[0-9a-f]{8} \(corrupt data\)/);
  });

  it("reports bad version 2 extensions: column lengths, count, values beyond 2^53, path offsets, a version 1 map", async () => {
    const at = headerBytes({ version: 2 }).length;
    const where = `backing extension (byte ${at})`;
    await expectTraceError(await rawV2Trace(rawBackingColumns(0, 2, { ino: Buffer.alloc(8) })), where, /inconsistent column lengths: column ino has 8 bytes, expected 8 × 2 files = 16/);
    await expectTraceError(await rawV2Trace(rawBackingColumns(0, 2, { digest: 7 })), where, /column digest is number 7, expected a bin/);
    const huge = Buffer.from(new BigUint64Array([1n, 2n ** 53n]).buffer);
    await expectTraceError(await rawV2Trace(rawBackingColumns(0, 2, { size: huge })), where, /backing file 1: size must be below 2\^53/);
    const ends = Buffer.from(new Uint32Array([5, 3]).buffer);
    await expectTraceError(await rawV2Trace(rawBackingColumns(0, 2, { path_end: ends })), where, /backing file 1: path_end 3 is outside the path bytes 5–16/);
    await expectTraceError(await rawV2Trace(rawBackingColumns(1, 2)), where, /first is number 1, but the backing table has 0 entries here/);
    const v1Map = pack({ kind: "backing", first: 0, files: [backingFile(0), backingFile(1)] });
    await expectTraceError(await rawV2Trace(v1Map), where, /count is nil, expected a non-negative integer/);
  });
});
