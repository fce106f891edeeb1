// The bundled traces: each is a valid trace, replays without anomalies, and its counts in traces/README.md
// (generated from traces/provenance.json) are what `fbreplay inspect` finds.
import { readFileSync, statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { OP_OPEN } from "../src/abi.js";
import { inspectTrace } from "../src/inspect/index.js";
import { runOracle } from "../src/oracle/index.js";
import { replayTrace } from "../src/replay/index.js";
import { openTrace } from "../src/trace/index.js";

interface Entry { name: string; bytes: number; stats: Record<string, number> }
const provenance = JSON.parse(readFileSync("traces/provenance.json", "utf8")) as { traces: Entry[] };
const readme = readFileSync("traces/README.md", "utf8");

describe("bundled traces", () => {
  it("are at least five real workloads with 100k+ opens in all, each at most 10 MB", () => {
    expect(provenance.traces.length).toBeGreaterThanOrEqual(5);
    expect(provenance.traces.reduce((n, t) => n + t.stats.opens, 0)).toBeGreaterThanOrEqual(100_000);
    for (const t of provenance.traces) expect(statSync(`traces/${t.name}.fbt`).size).toBeLessThanOrEqual(10 * 2 ** 20);
  });

  for (const t of provenance.traces) {
    it(`${t.name}: inspect matches the provenance and the README, replay finds no anomaly`, async () => {
      const path = `traces/${t.name}.fbt`;
      const stats = await inspectTrace(await openTrace(path));
      for (const key of ["events", "opens", "releases", "overlapping_opens", "nodeid_reuse", "backing_inodes", "digests", "shared_digests"]) {
        expect(stats[key as keyof typeof stats], key).toBe(t.stats[key]);
      }
      expect(statSync(path).size).toBe(t.bytes);
      const row = readme.split("\n").find((l) => l.startsWith(`| \`${t.name}.fbt\``));
      expect(row, `README row for ${t.name}`).toBeDefined();
      const cells = row!.split("|").map((c) => c.trim());
      expect(cells.slice(3, 10).map(Number)).toEqual([stats.opens, stats.releases, stats.events, stats.overlapping_opens, stats.nodeid_reuse, stats.backing_inodes, stats.digests]);
      const report = await replayTrace(await openTrace(path), { engine: "wasm", policies: ["ptr", "lookup"], daemon: "per-inode" });
      expect(report.policies.ptr!.anomalies).toBe(0);
      expect(report.policies.ptr!.open_at_end).toBe(0);
      expect(report.policies.ptr!.opens).toBe(stats.opens);
    });
  }

  const native = provenance.traces.filter((t) => t.name.endsWith("-native"));
  it("has at least two native captures, in which the kernel refused opens after real daemon restarts", async () => {
    expect(native.length).toBeGreaterThanOrEqual(2);
    let refused = 0;
    for (const t of native) {
      const kernelRefused = (await runOracle(await openTrace(`traces/${t.name}.fbt`))).runs[0].kernel_refused;
      const stats = await inspectTrace(await openTrace(`traces/${t.name}.fbt`));
      expect({ accepted: stats.kernel_accepted, refused: stats.kernel_refused }).toEqual({ accepted: stats.opens - kernelRefused, refused: kernelRefused });
      refused += kernelRefused;
    }
    expect(refused).toBeGreaterThan(0);
  });

  const hp = provenance.traces.filter((t) => t.name.endsWith("-hp"));
  for (const t of hp) {
    it(`${t.name}: every open carries passthrough_hp's id, and the model's idr hands out the same ids as the kernel did`, async () => {
      expect(t.stats.opens).toBeGreaterThan(0);
      const reader = await openTrace(`traces/${t.name}.fbt`);
      let opens = 0;
      let withId = 0;
      for await (const item of reader.items()) {
        if (item.kind !== "chunk") continue;
        const c = item.chunk;
        for (let i = 0; i < c.length; i++) {
          if (c.op[i] !== OP_OPEN) continue;
          opens++;
          if ((c.bid?.[i] ?? 0) > 0) withId++;
        }
      }
      expect(withId).toBe(opens);
      expect((await inspectTrace(await openTrace(`traces/${t.name}.fbt`))).recorded_ids).toBe(opens);
      const report = await replayTrace(await openTrace(`traces/${t.name}.fbt`), { engine: "wasm", policies: ["ptr", "lookup"], daemon: "recorded" });
      // passthrough_hp shares one id per inode while it has open files: the kernel refused nothing, and neither does the model.
      expect(report.policies.ptr).toMatchObject({ opens, accepted: opens, eio: 0, anomalies: 0, anomaly_recorded_id: 0 });
      // Under lookup the kernel side registers at LOOKUP too: its ids drift from the capture's by design, not an anomaly.
      expect(report.policies.lookup).toMatchObject({ opens, anomalies: 0 });
    });
  }

  for (const t of native) {
    it(`${t.name}: the model agrees with the kernel on every open (oracle), with recorded ids and with the daemon model`, async () => {
      const report = await runOracle(await openTrace(`traces/${t.name}.fbt`));
      expect(report.runs.map((r) => r.daemon)).toEqual(["recorded", "per-inode"]);
      for (const run of report.runs) {
        expect(run.compared, run.daemon).toBe(t.stats.opens);
        expect({ daemon: run.daemon, agree: run.agree, mismatches: run.mismatches.slice(0, 3), anomalies: run.anomalies })
          .toEqual({ daemon: run.daemon, agree: run.compared, mismatches: [], anomalies: 0 });
      }
    });
  }
});
