// Helpers of the .fbt format tests (trace*.test.ts): sample traces, raw msgpack values, and the one-line error check.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { pack, unpackMultiple } from "msgpackr";
import { afterAll, beforeAll, expect } from "vitest";
import { OP_OPEN, OP_RELEASE } from "../src/abi.js";
import { emptyColumns } from "../src/events.js";
import { COLUMNS, TRAILER_SIZE, columnBytes, encodeTrailer } from "../src/trace/format.js";
import {
  TraceError, TraceWriter, chunkCrc32, chunkFromColumns, openTrace,
  type TraceBackingFile, type TraceChunk, type TraceFooter, type TraceHeader, type TraceItem,
} from "../src/trace/index.js";

let dir: string;
let fileNo = 0;
/** Call once at the top of a test file: a temporary directory for tmpFile(), removed after the file's tests. */
export function useTmpDir(): void {
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), "fbt-test-")); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });
}
export const tmpFile = () => join(dir, `t${fileNo++}.fbt`);

export const HEADER: Omit<TraceHeader, "format" | "version"> = {
  source: { format: "synth", seed: 7, params: { files: 3 } },
  workload: "unit test",
  recorder: { name: "trace.test", version: "1" },
  host_kernel: "6.9.0",
  created: "2025-01-01T00:00:00.000Z",
};

export const backingFile = (i: number): TraceBackingFile => ({ dev: 1, ino: 100 + i, digest: new Uint8Array(32).fill(i), size: 10 * i, path: `/data/f${i}` });

/** A small chunk: rows open/release over nodeids and fhs, brefs below `brefs`, dt 1 after the first row. */
export function smallChunk(length: number, t0: number, brefs: number, salt = 0): TraceChunk {
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

export async function readAll(path: string, blockBytes?: number) {
  const r = await openTrace(path, { blockBytes });
  const items: TraceItem[] = [];
  for await (const item of r.items()) items.push(item);
  return { r, items };
}

/** A valid three-chunk trace with backing extensions before chunks 0 and 2. */
export async function sampleTrace(path = tmpFile()): Promise<string> {
  const w = await TraceWriter.create(path, HEADER);
  w.addBacking([backingFile(0), backingFile(1)]);
  await w.writeChunk(smallChunk(6, 0, 2));
  await w.writeChunk(smallChunk(5, 10, 2, 1));
  w.addBacking([backingFile(2)]);
  await w.writeChunk(smallChunk(4, 20, 3, 2));
  await w.close();
  return path;
}

export interface Value { value: unknown; start: number; end: number }

/** The msgpack values before the trailer, with their byte ranges (header, items…, footer). */
export function valuesOf(bytes: Buffer): Value[] {
  const values: Value[] = [];
  unpackMultiple(bytes.subarray(0, bytes.length - TRAILER_SIZE), (value: unknown, start?: number, end?: number) => {
    values.push({ value, start: start!, end: end! });
  });
  return values;
}

/** A copy of the trace at `path` with bits `mask` flipped in the byte `fromEnd` bytes before chunk 1 ends. */
export async function flipInChunk1(path: string, fromEnd: number, mask: number): Promise<{ bad: string; chunk1: Value }> {
  const bytes = await readFile(path);
  const chunk1 = valuesOf(bytes)[3];
  const flipped = Buffer.from(bytes);
  flipped[chunk1.end - fromEnd] ^= mask;
  const bad = tmpFile();
  await writeFile(bad, flipped);
  return { bad, chunk1 };
}

/** Header, items and footer re-assembled with a fresh trailer. */
export function assemble(parts: Uint8Array[], footer: Uint8Array): Buffer {
  const body = Buffer.concat(parts);
  const trailer = encodeTrailer({ footerOffset: body.length, footerLength: footer.length, footerCrc32: crc32(footer) });
  return Buffer.concat([body, footer, trailer]);
}

/** A chunk map as a msgpack library would write it, fields overridable. */
export function rawChunk(index: number, c: TraceChunk, overrides: Record<string, unknown> = {}): Buffer {
  const cols = Object.fromEntries(COLUMNS.map(([name]) => [name, Buffer.from(columnBytes(c[name]))]));
  return pack({ kind: "chunk", index, length: c.length, t0: c.t0, crc32: chunkCrc32(c), ...cols, ...overrides });
}

export function footerFor(chunks: TraceChunk[], backingFiles: number, overrides: Partial<TraceFooter> = {}): Buffer {
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

export const headerBytes = (overrides: Record<string, unknown> = {}) => pack({ format: "fbreplay-trace", version: 1, ...HEADER, ...overrides });
export const backingBytes = (first: number, files: TraceBackingFile[]) => pack({ kind: "backing", first, files });

/** A raw trace file: header, one backing extension of `backing` files, the chunks, footer. */
export async function rawTrace(chunks: Buffer[], footer: Buffer, backing = 2, header = headerBytes()): Promise<string> {
  const path = tmpFile();
  const files = Array.from({ length: backing }, (_, i) => backingFile(i));
  await writeFile(path, assemble([header, ...(backing > 0 ? [backingBytes(0, files)] : []), ...chunks], footer));
  return path;
}

/**
 * Opens and streams the file; expects a one-line TraceError naming the file and the place. Returns the indexes of
 * the chunks yielded before the error.
 */
export async function expectTraceError(path: string, where: string, reason: RegExp, blockBytes?: number): Promise<number[]> {
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
