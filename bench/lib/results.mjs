// The results file's two sections for tools (compare, history, exports, the HTML report): every timing as a named
// benchmark with its samples, and the outcome counters of every workload (deterministic: any change is a
// behaviour change, not noise).

/**
 * @typedef {{name: string, unit: string, samples: number[]}} Benchmark
 * Names are paths: suite/workload/engine/policy. Every unit is a cost (smaller is better).
 */

const perEvent = (samplesNs, events) => samplesNs.map((ns) => ns / events);

/** @returns {Benchmark[]} */
export function benchmarksOf(suites) {
  const out = [];
  for (const c of suites.check?.checks ?? []) {
    out.push({ name: `check/${c.regime}/${c.policy}`, unit: "ns/check", samples: c.samples_ns_per_check });
  }
  if (suites.check) out.push({ name: "check/js-to-wasm-call", unit: "ns/call", samples: suites.check.call_ns.samples_ns });
  for (const w of suites.throughput?.workloads ?? []) {
    for (const [policy, row] of Object.entries(w.policies)) {
      for (const engine of ["wasm", "js", "native"]) {
        if (row[engine]) out.push({ name: `throughput/${w.workload}/${engine}/${policy}`, unit: "ns/event", samples: perEvent(row[engine].samples_ns, w.events) });
      }
    }
  }
  for (const r of suites.e2e?.rows ?? []) {
    const n = suites.e2e.events * r.policies.length;
    const set = r.policies.length > 1 ? "all" : r.policies[0];
    out.push({ name: `e2e/from-file/${set}`, unit: "ns/event", samples: perEvent(r.samples_ns.e2e, n) });
    out.push({ name: `e2e/in-memory/${set}`, unit: "ns/event", samples: perEvent(r.samples_ns.in_memory, n) });
  }
  for (const [curve, key] of [["by_events", "events"], ["by_inodes", "inodes"]]) {
    for (const row of suites.scaling?.[curve] ?? []) {
      for (const [policy, samples] of Object.entries(row.samples_ns_per_event)) {
        out.push({ name: `scaling/${key}-${row[key]}/${policy}`, unit: "ns/event", samples });
      }
    }
  }
  for (const r of suites.contention?.results ?? []) {
    out.push({ name: `contention/${r.partition}/${r.policy}/${r.workers}-workers`, unit: "ns/event", samples: perEvent(r.samples_ns, suites.contention.events) });
  }
  return out;
}

/** Per workload (with the hash of what was replayed), each policy's outcome counters. */
export function outcomesOf(suites) {
  const out = {};
  for (const w of suites.throughput?.workloads ?? []) {
    out[w.workload] = { sha256: w.hash, description: w.description, policies: Object.fromEntries(Object.entries(w.policies).map(([p, r]) => [p, r.outcomes])) };
  }
  return out;
}
