// Replays spread over worker threads give the counts of one thread, counter for counter: traces side by side, and
// one trace's policies in groups (each group reads and injects the trace itself, from the same seed).
import fc from "fast-check";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { POLICIES, policyGroups, replayTrace, replayTraces, type ReplayPlan, type ReplayReport } from "../src/replay/index.js";
import { synth } from "../src/synth/index.js";
import { TraceWriter, openTrace } from "../src/trace/index.js";
import { TraceError } from "../src/trace/types.js";

const dir = mkdtempSync(join(tmpdir(), "fbreplay-parallel-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What must not depend on the threads: every counter, the events and the injections (not the timings). */
const counts = (reports: ReplayReport[]) => reports.map((r) => ({
  trace: r.trace.path, events: r.events, complete: r.complete, injected: r.injected,
  policies: Object.fromEntries(Object.entries(r.policies).map(([p, o]) => { const { ns_per_event: _, ...rest } = o!; return [p, rest]; })),
}));

async function both(paths: string[], plan: ReplayPlan, jobs: number) {
  const open = () => Promise.all(paths.map((p) => openTrace(p)));
  return { one: counts(await replayTraces(await open(), plan, { jobs: 1 })), many: counts(await replayTraces(await open(), plan, { jobs })) };
}

describe("parallel replay", () => {
  it("splits policies in groups of about equal cost, each in the plan's order", () => {
    expect(policyGroups(POLICIES, 2)).toEqual([["digest", "lookup"], ["ptr", "inode", "reuse"]]);
    expect(policyGroups(POLICIES, 9).flat().sort()).toEqual([...POLICIES].sort());
    expect(policyGroups(["ptr"], 3)).toEqual([["ptr"]]);
  });

  it("the bundled traces, scaled, with restarts and injections: the counts of one thread, side by side and in policy groups", async () => {
    const plan: ReplayPlan = { engine: "wasm", policies: POLICIES, daemon: "per-inode", scale: 4, restartEvery: 3000, redownloadRate: 0.01, replaceRate: 0.005, seed: 7 };
    const traces = ["traces/sqlite-held-native.fbt", "traces/npm-install.fbt", "traces/atomic-edit-native.fbt"];
    const sideBySide = await both(traces, plan, 2);
    expect(sideBySide.many).toEqual(sideBySide.one);
    const groups = await both(["traces/sqlite-held-hp.fbt"], { ...plan, closeAll: true }, 3);
    expect(groups.many).toEqual(groups.one);
    expect(groups.one[0].policies.ptr!.eio).toBeGreaterThan(0);
  });

  it("a trace whose replay under every policy exceeds --max-memory is replayed in policy groups that fit, with the same counts", async () => {
    const plan: ReplayPlan = { engine: "wasm", policies: POLICIES, daemon: "per-inode", scale: 8, restartEvery: 5000, redownloadRate: 0.01, seed: 3 };
    const path = "traces/git-import.fbt";
    const whole = counts(await replayTraces([await openTrace(path)], plan, { jobs: 1 }));
    // replayBytes: about 113 MiB under one policy and 170 MiB under all five at this scale.
    const tight = { ...plan, maxMemory: 128 * 2 ** 20 };
    for (const jobs of [1, 2]) expect(counts(await replayTraces([await openTrace(path)], tight, { jobs }))).toEqual(whole);
    await expect(replayTraces([await openTrace(path)], { ...plan, maxMemory: 100 * 2 ** 20 }, { jobs: 1 })).rejects.toThrow(/needs about \d+ MiB, more than --max-memory 100 MiB/);
  });

  it("a large trace's policies in passes of 1, 2, 3 or all five: the same counts", async () => {
    const plan: ReplayPlan = { engine: "wasm", policies: POLICIES, daemon: "per-inode", scale: 1 };
    const path = "traces/npm-install.fbt";
    const passes = async (passMaxPolicies: number) => counts([await replayTrace(await openTrace(path), plan, { passMinEvents: 0, passMaxPolicies })]);
    const one = await passes(5);
    expect(one[0].policies.ptr!.opens).toBeGreaterThan(0);
    for (const k of [1, 2, 3]) expect(await passes(k)).toEqual(one);
  });

  it("an injected replay in passes injects the same events in each: the same counts as one pass", async () => {
    const plan: ReplayPlan = { engine: "wasm", policies: POLICIES, daemon: "per-inode", scale: 3, restartEvery: 4000, redownloadRate: 0.02, replaceRate: 0.01, seed: 11 };
    const path = "traces/npm-install.fbt";
    const passes = async (passMaxPolicies: number) => counts([await replayTrace(await openTrace(path), plan, { passMinEvents: 0, passMaxPolicies })]);
    const one = await passes(5);
    expect(one[0].injected.redownloads).toBeGreaterThan(0);
    expect(one[0].injected.replacements).toBeGreaterThan(0);
    for (const k of [1, 2]) expect(await passes(k)).toEqual(one);
  });

  it("generated traces: the same counts whatever the jobs", async () => {
    let n = 0;
    await fc.assert(fc.asyncProperty(
      fc.record({ seed: fc.nat(1e6), inodes: fc.integer({ min: 5, max: 300 }), forgetRate: fc.constantFrom(0, 0.02), replaceRate: fc.constantFrom(0, 0.01) }),
      fc.record({ scale: fc.integer({ min: 1, max: 3 }), restartEvery: fc.integer({ min: 50, max: 2000 }), redownloadRate: fc.constantFrom(0, 0.05), seed: fc.nat(1000) }),
      fc.integer({ min: 2, max: 4 }),
      async (s, inject, jobs) => {
        const path = join(dir, `g${n++}.fbt`);
        const writer = await TraceWriter.create(path, { source: { format: "synth", options: {} }, workload: "t", recorder: { name: "test", version: "0" }, host_kernel: "", created: "" });
        for (const item of synth({ events: 3000, chunkRows: 700, ...s })) {
          if (item.backing) writer.addBacking(item.backing);
          if (item.chunk) await writer.writeChunk(item.chunk);
        }
        await writer.close();
        const r = await both([path], { engine: "wasm", policies: POLICIES, daemon: "per-open", ...inject }, jobs);
        expect(r.many).toEqual(r.one);
      },
    ), { numRuns: 12 });
  });

  it("an interrupt stops every worker at its next chunk; the reports say they are incomplete", async () => {
    const path = join(dir, "long.fbt");
    const writer = await TraceWriter.create(path, { source: { format: "synth", options: {} }, workload: "t", recorder: { name: "test", version: "0" }, host_kernel: "", created: "" });
    for (const item of synth({ events: 400_000, seed: 2, inodes: 2000, chunkRows: 2000 })) {
      if (item.backing) writer.addBacking(item.backing);
      if (item.chunk) await writer.writeChunk(item.chunk);
    }
    await writer.close();
    let progress = 0;
    const plan: ReplayPlan = { engine: "wasm", policies: POLICIES, daemon: "per-inode", scale: 2 };
    const [report] = await replayTraces([await openTrace(path)], plan, { jobs: 2, onProgress: () => { progress++; }, interrupted: () => progress >= 1 });
    expect(report.complete).toBe(false);
    expect(report.events).toBeLessThan(800_000);
    expect(Object.keys(report.policies).sort()).toEqual([...POLICIES].sort());
    expect(await replayTraces([await openTrace(path)], plan, { jobs: 2, interrupted: () => true })).toEqual([]);
  });

  it("a trace that turns out bad in a worker gives the error it gives in this thread", async () => {
    const bytes = readFileSync("traces/npm-install.fbt");
    bytes[bytes.length >> 1] ^= 0x40; // past the header: the footer still reads, the body does not
    const bad = join(dir, "bad.fbt");
    writeFileSync(bad, bytes);
    const plan: ReplayPlan = { engine: "wasm", policies: POLICIES, daemon: "per-inode" };
    const error = async (jobs: number) => replayTraces([await openTrace(bad)], plan, { jobs }).then(() => null, (e: Error) => e);
    const [here, there] = [await error(1), await error(2)];
    expect(here).toBeInstanceOf(TraceError);
    expect(there).toBeInstanceOf(TraceError);
    expect(there!.message).toBe(here!.message);
    expect(here!.message).toMatch(/bad\.fbt: .+: /); // the file, then where in it
  });
});
