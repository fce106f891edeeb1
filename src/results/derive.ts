// The results file's two sections for tools (compare, history, exports, the report), derived from the suites that
// bench/run.mjs ran: every timing as a named benchmark with its samples, and the outcome counters of every workload
// (deterministic: any change is a behaviour change, not noise).
import type { Benchmark, Suites, WorkloadOutcomes } from "./schema.js";

const perEvent = (samplesNs: readonly number[], events: number) => samplesNs.map((ns) => ns / events);

/** Names are paths: suite/workload/engine/policy. Every unit is a cost (smaller is better). */
export function benchmarksOf(suites: Suites): Benchmark[] {
  const out: Benchmark[] = [];
  for (const c of suites.check?.checks ?? []) {
    out.push({ name: `check/${c.regime}/${c.policy}`, unit: "ns/check", samples: c.samples_ns_per_check });
  }
  if (suites.check) out.push({ name: "check/js-to-wasm-call", unit: "ns/call", samples: suites.check.call_ns.samples_ns });
  for (const w of suites.throughput?.workloads ?? []) {
    for (const [policy, row] of Object.entries(w.policies)) {
      for (const engine of ["wasm", "js", "native"] as const) {
        const run = row[engine];
        if (run) out.push({ name: `throughput/${w.workload}/${engine}/${policy}`, unit: "ns/event", samples: perEvent(run.samples_ns, w.events) });
      }
    }
  }
  const e2e = suites.e2e;
  for (const r of e2e?.rows ?? []) {
    const n = e2e!.events * r.policies.length;
    const set = r.policies.length > 1 ? "all" : r.policies[0];
    out.push({ name: `e2e/from-file/${set}`, unit: "ns/event", samples: perEvent(r.samples_ns.e2e, n) });
    out.push({ name: `e2e/in-memory/${set}`, unit: "ns/event", samples: perEvent(r.samples_ns.in_memory, n) });
  }
  const parallel = suites.parallel;
  for (const r of parallel?.rows ?? []) {
    out.push({ name: `parallel/jobs-${r.jobs}/all`, unit: "ns/event", samples: perEvent(r.samples_ns, parallel!.events * parallel!.policies.length) });
  }
  for (const [curve, key] of [["by_events", "events"], ["by_inodes", "inodes"]] as const) {
    for (const row of suites.scaling?.[curve] ?? []) {
      for (const [policy, samples] of Object.entries(row.samples_ns_per_event)) {
        out.push({ name: `scaling/${key}-${row[key]}/${policy}`, unit: "ns/event", samples });
      }
    }
  }
  const contention = suites.contention;
  for (const r of contention?.results ?? []) {
    const hot = r.hot_inodes === undefined ? "" : `/${r.hot_inodes}-hot`;
    out.push({ name: `contention/${r.partition}/${r.policy}${hot}/${r.workers}-workers`, unit: "ns/event", samples: perEvent(r.samples_ns, r.operations ?? contention!.events) });
  }
  return out;
}

/** Per workload (with the hash of what was replayed), each policy's outcome counters. */
export function outcomesOf(suites: Suites): Record<string, WorkloadOutcomes> {
  const out: Record<string, WorkloadOutcomes> = {};
  for (const w of suites.throughput?.workloads ?? []) {
    out[w.workload] = { sha256: w.hash, description: w.description, policies: Object.fromEntries(Object.entries(w.policies).map(([p, r]) => [p, r.outcomes])) };
  }
  return out;
}
