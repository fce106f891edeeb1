// Chunks read straight into the wasm core's memory (ItemsOptions.sink, src/replay/sink.ts) and checked there
// (assembly/scan.ts): the same counters as chunks read into the reader's own buffers, and the same one-line errors.
import { writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { OP_OPEN, OP_RELEASE } from "../src/abi.js";
import { replayTrace, type ReplayPlan, type TraceSource } from "../src/replay/drive.js";
import { WasmReplaySession } from "../src/replay/wasm.js";
import { synth, type SynthOptions } from "../src/synth/index.js";
import { TraceError, TraceWriter, openTrace, sliceChunk, type ItemsOptions, type TraceChunk } from "../src/trace/index.js";
import {
  HEADER, assemble, backingBytes, backingFile, flipInChunk1, footerFor, headerBytes, rawChunk, sampleTrace, smallChunk, tmpFile, useTmpDir,
} from "./trace-helpers.js";

useTmpDir();

/** The reader, seen through a source that records whether it was given a sink and how many chunks came in slots. */
async function watched(path: string, withSink: boolean) {
  const reader = await openTrace(path, { reuseBuffers: true });
  const seen = { sink: false, placed: 0 };
  const source: TraceSource = {
    path, header: reader.header, footer: reader.footer,
    async *items(options?: ItemsOptions) {
      seen.sink ||= options?.sink !== undefined;
      for await (const item of reader.items(withSink ? options : {})) {
        if (item.kind === "chunk" && item.chunk.slot !== undefined) seen.placed++;
        yield item;
      }
    },
  };
  return { source, seen };
}

async function bothWays(path: string, plan: ReplayPlan) {
  const placed = await watched(path, true);
  const copied = await watched(path, false);
  // A pass per policy even for these small traces (large ones only, by default, and three policies to a pass).
  const a = await replayTrace(placed.source, plan, { passMinEvents: 0, passMaxPolicies: 1 });
  const b = await replayTrace(copied.source, plan, { passMinEvents: 0, passMaxPolicies: 1 });
  expect(placed.seen.sink).toBe(true);
  expect(copied.seen.placed).toBe(0);
  expect(a.policies).toEqual(Object.fromEntries(Object.entries(b.policies).map(([p, r]) => [p, { ...r, ns_per_event: a.policies[p as keyof typeof a.policies]!.ns_per_event }])));
  return { placed: placed.seen.placed, report: a };
}

/** A synthetic trace written to a file of the test's own. */
async function synthFile(options: SynthOptions): Promise<string> {
  const path = tmpFile();
  const w = await TraceWriter.create(path, HEADER);
  for (const item of synth(options)) {
    if (item.backing) w.addBacking(item.backing.map((f, i) => ({ ...f, size: 1, path: `/f${i}` })));
    else await w.writeChunk(item.chunk as TraceChunk);
  }
  await w.close();
  return path;
}

/** Reads every item with a wasm session's sink; the TraceError's message, or undefined. */
async function errorWithSink(path: string): Promise<string | undefined> {
  const session = new WasmReplaySession([], { policies: ["ptr"], daemon: "per-inode", maxInodes: 16, maxFiles: 16 });
  try {
    const r = await openTrace(path);
    for await (const _ of r.items({ sink: session.chunkSink() }));
  } catch (e) {
    expect(e).toBeInstanceOf(TraceError);
    return (e as Error).message;
  }
  return undefined;
}

async function errorWithout(path: string): Promise<string | undefined> {
  try {
    const r = await openTrace(path);
    for await (const _ of r.items());
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

describe("chunks read into the core", () => {
  it("replay a synthetic trace of many chunks to the same counters as chunks read into buffers, every policy", async () => {
    const path = await synthFile({ events: 40_000, seed: 3, chunkRows: 3000 });
    const plan: ReplayPlan = { engine: "wasm", policies: ["ptr", "inode", "digest", "reuse", "lookup"], daemon: "per-inode", scale: 1 };
    const { placed, report } = await bothWays(path, plan);
    expect(placed).toBe(14 * 5); // a pass per policy
    expect(report.events).toBe(40_000);
    // One pass for every policy, in slots (a small trace, by default), and a restart beyond the last event that makes
    // the injector rewrite (one pass, no slots): the same counts.
    const onePass = await watched(path, true);
    const together = await replayTrace(onePass.source, plan);
    expect(onePass.seen.placed).toBe(14);
    const interleaved = await replayTrace(await openTrace(path), { ...plan, restartEvery: 1e9 });
    expect(interleaved.injected.restarts).toBe(0);
    for (const p of plan.policies) {
      expect({ ...interleaved.policies[p], ns_per_event: 0 }).toEqual({ ...report.policies[p], ns_per_event: 0 });
      expect({ ...together.policies[p], ns_per_event: 0 }).toEqual({ ...report.policies[p], ns_per_event: 0 });
    }
  });

  it("rewrite injected chunks from the core's memory, piece by piece as the backing files grow it: the same counters", async () => {
    // One large chunk: at --scale 8 the injector takes it in pieces of 8,192 rows, and the re-downloads and
    // replacements of each piece add files to the core, which grows its memory and so renews the chunk's views.
    const path = await synthFile({ events: 60_000, seed: 5, chunkRows: 60_000 });
    const plan: ReplayPlan = {
      engine: "wasm", policies: ["ptr", "digest", "lookup"], daemon: "per-open", scale: 8, restartEvery: 20_000, redownloadRate: 0.3, replaceRate: 0.2, seed: 9,
    };
    const { placed, report } = await bothWays(path, plan);
    expect(placed).toBe(3); // a pass per policy, the chunk in a slot each time
    expect(report.injected.redownloads).toBeGreaterThan(10_000);
    expect(report.policies.ptr!.opens).toBeGreaterThan(10_000);
  });

  it("clear a slot's recorded ids before a chunk without them replays there (--ids recorded)", async () => {
    const r = await openTrace("traces/atomic-edit-native.fbt");
    const path = tmpFile();
    const { format: _f, version: _v, ...header } = r.header;
    const w = await TraceWriter.create(path, header);
    for await (const item of r.items()) {
      if (item.kind === "backing") { w.addBacking(item.files); continue; }
      const c = item.chunk;
      const q = Math.ceil(c.length / 4);
      for (let k = 0; k < 4; k++) {
        const part = sliceChunk(c, k * q, Math.min(c.length, (k + 1) * q));
        const copy = { ...part, op: part.op.slice(), bid: undefined as Uint32Array | undefined, verdict: undefined as Uint8Array | undefined };
        // Chunks 0 and 1 keep their recorded ids; 2 and 3, which reuse their slots, have none.
        if (k < 2) { copy.bid = part.bid!.slice(); copy.verdict = part.verdict!.slice(); }
        await w.writeChunk(copy as TraceChunk);
      }
    }
    await w.close();
    const { placed } = await bothWays(path, { engine: "wasm", policies: ["ptr", "lookup"], daemon: "recorded", scale: 1 });
    expect(placed).toBe(4 * 2); // a pass per policy
  });

  it("report bad rows, a flipped byte and order with the same one line as chunks read into buffers", async () => {
    const bad = (mutate: (c: TraceChunk) => void, backing = 2) => {
      const c = smallChunk(6, 0, 2);
      mutate(c);
      return [c, backing] as const;
    };
    const cases = [
      bad((c) => { c.bref[2] = 5; }),
      bad((c) => { c.op[3] = 99; }),
      bad((c) => { c.op[0] = OP_OPEN; c.bref[0] = 1; }, 1),
      bad((c) => { c.nodeid[4] = 1 << 30; c.op[4] = OP_RELEASE; }),
    ];
    for (const [c, backing] of cases) {
      const files = Array.from({ length: backing }, (_, i) => backingFile(i));
      // The footer's maxima are the unmutated chunk's (nodeids 0–4, fhs 0–5), its CRC the mutated one's.
      const footer = footerFor([c], backing, { max_nodeid: 4, max_fh: 5 });
      const path = tmpFile();
      await writeFile(path, assemble([headerBytes(), backingBytes(0, files), rawChunk(0, c)], footer));
      const msg = await errorWithSink(path);
      expect(msg).toMatch(/: chunk 0 \(byte \d+\): row \d: /);
      expect(msg).toBe(await errorWithout(path));
    }
    const { bad: flipped } = await flipInChunk1(await sampleTrace(), 5, 0x10);
    const msg = await errorWithSink(flipped);
    expect(msg).toMatch(/chunk 1 \(byte \d+\): CRC-32 of the columns/);
    expect(msg).toBe(await errorWithout(flipped));
    expect(await errorWithSink(await sampleTrace())).toBeUndefined();
  });
});
