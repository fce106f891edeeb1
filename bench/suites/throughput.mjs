// Replay throughput per policy and engine: the wasm core, the TypeScript reference model and the native C build,
// on the same events (one dump, each engine in a process of its own), interleaved rep by rep (the engine order
// rotates) so drift and noise hit all three alike. Reported as events/s (median of the reps) and as ratios taken
// within this run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { POLICIES } from "../../dist/engine.js";
import { assertSameOutcomes, dumpEngines } from "../lib/engines.mjs";
import { median, round, spread } from "../lib/stats.mjs";

/** Runs every engine `reps` times on `workload`; checks they agree, returns per-policy figures. */
export async function compareEngines(workload, { native, reps, log, policies = POLICIES, settleMs }) {
  const dir = mkdtempSync(join(tmpdir(), "fbreplay-bench-"));
  const { engines, dispose } = await dumpEngines(native, workload, policies, dir, settleMs);
  try {
    const names = Object.keys(engines);
    const samples = Object.fromEntries(names.map((e) => [e, Object.fromEntries(policies.map((p) => [p, []]))]));
    for (let rep = 0; rep < reps; rep++) {
      const order = names.map((_, i) => names[(i + rep) % names.length]);
      const runs = {};
      for (const engine of order) {
        log(`throughput: ${workload.name}, ${engine}, rep ${rep + 1}/${reps}`);
        runs[engine] = await engines[engine]();
        for (const p of policies) samples[engine][p].push(runs[engine][p].ns);
      }
      assertSameOutcomes(workload.name, runs);
      if (rep === 0) samples.outcomes = Object.fromEntries(policies.map((p) => [p, runs.wasm[p].outcomes]));
    }
    return summarize(workload, samples, policies, names);
  } finally {
    dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

function summarize(workload, samples, policies, engines) {
  const perPolicy = {};
  for (const p of policies) {
    const row = { outcomes: samples.outcomes[p] };
    for (const e of engines) {
      const ns = samples[e][p];
      row[e] = {
        events_per_s: Math.round(workload.events / (median(ns) / 1e9)),
        ns_per_event: round(median(ns) / workload.events, 2),
        spread: round(spread(ns), 3),
        samples_ns: ns,
      };
    }
    // Ratios of medians, both taken in this run: how much faster wasm is than the model, how much slower than C.
    row.wasm_vs_js = round(row.js.ns_per_event / row.wasm.ns_per_event, 3);
    if (row.native) row.wasm_vs_native = round(row.wasm.ns_per_event / row.native.ns_per_event, 3);
    perPolicy[p] = row;
  }
  return { workload: workload.name, description: workload.description, hash: workload.hash, events: workload.events, policies: perPolicy };
}
