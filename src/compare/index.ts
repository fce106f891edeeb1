// `fbreplay compare BASE HEAD`: timings compared statistically (Mann–Whitney U and a bootstrap interval, with a
// noise floor), outcome counters compared exactly (the same trace and options replay deterministically, so any
// difference is a behaviour change, reported apart from timing).
import { textTable } from "../table.js";
import { compareSamples, type TimingComparison } from "./stats.js";
import { ResultsError, type ResultsCore } from "../results/index.js";

export { compareSamples, mannWhitney, median, medianInterval, ratioInterval, MIN_SAMPLES, type TimingComparison, type Verdict } from "./stats.js";

export interface CompareOptions {
  /** Noise floor: the smallest relative change reported, e.g. 0.05. */
  threshold: number;
  /** Significance level of the test and 1 - the interval's confidence. */
  alpha: number;
}

export interface OutcomeChange {
  workload: string;
  policy: string;
  counter: string;
  base: number | null;
  head: number | null;
}

export interface Comparison {
  base: { path: string; commit: string | null; date: string };
  head: { path: string; commit: string | null; date: string };
  options: CompareOptions;
  timings: TimingComparison[];
  /** Benchmarks in only one of the files (not compared). */
  only_base: string[];
  only_head: string[];
  behaviour_changes: OutcomeChange[];
  regressions: number;
  improvements: number;
}

export function compareResults(basePath: string, base: ResultsCore, headPath: string, head: ResultsCore, options: CompareOptions): Comparison {
  if (base.quick !== head.quick) {
    throw new ResultsError(`${basePath} is a ${base.quick ? "quick" : "full"} run and ${headPath} a ${head.quick ? "quick" : "full"} one: their workloads differ`);
  }
  for (const [name, w] of Object.entries(head.outcomes)) {
    const b = base.outcomes[name];
    if (b !== undefined && b.sha256 !== w.sha256) {
      throw new ResultsError(`different traces compared: workload ${name} is ${b.sha256.slice(0, 12)}… in ${basePath} but ${w.sha256.slice(0, 12)}… in ${headPath}`);
    }
  }
  const baseBy = new Map(base.benchmarks.map((b) => [b.name, b]));
  const headBy = new Map(head.benchmarks.map((b) => [b.name, b]));
  const timings: TimingComparison[] = [];
  for (const h of head.benchmarks) {
    const b = baseBy.get(h.name);
    if (b === undefined) continue;
    if (b.unit !== h.unit) throw new ResultsError(`${h.name}: unit ${b.unit} in ${basePath}, ${h.unit} in ${headPath}`);
    timings.push(compareSamples(h.name, h.unit, b.samples, h.samples, options.threshold, options.alpha));
  }
  return {
    base: { path: basePath, commit: base.manifest.commit, date: base.manifest.date },
    head: { path: headPath, commit: head.manifest.commit, date: head.manifest.date },
    options,
    timings,
    only_base: base.benchmarks.filter((b) => !headBy.has(b.name)).map((b) => b.name),
    only_head: head.benchmarks.filter((b) => !baseBy.has(b.name)).map((b) => b.name),
    behaviour_changes: outcomeChanges(base, head),
    regressions: timings.filter((t) => t.verdict === "regressed").length,
    improvements: timings.filter((t) => t.verdict === "improved").length,
  };
}

function outcomeChanges(base: ResultsCore, head: ResultsCore): OutcomeChange[] {
  const changes: OutcomeChange[] = [];
  for (const [workload, h] of Object.entries(head.outcomes)) {
    const b = base.outcomes[workload];
    if (b === undefined) continue;
    for (const policy of new Set([...Object.keys(b.policies), ...Object.keys(h.policies)])) {
      const bc = b.policies[policy] ?? {};
      const hc = h.policies[policy] ?? {};
      for (const counter of new Set([...Object.keys(bc), ...Object.keys(hc)])) {
        if (bc[counter] !== hc[counter]) changes.push({ workload, policy, counter, base: bc[counter] ?? null, head: hc[counter] ?? null });
      }
    }
  }
  return changes;
}

const pct = (r: number) => `${r >= 1 ? "+" : ""}${((r - 1) * 100).toFixed(1)}%`;

export function formatComparison(c: Comparison): string {
  const rows = [["benchmark", "unit", "base", "head", "change", "interval", "p", "verdict"]];
  for (const t of c.timings) {
    rows.push([
      t.name, t.unit, t.base_median.toPrecision(4), t.head_median.toPrecision(4), pct(t.ratio),
      t.interval ? `${pct(t.interval[0])} … ${pct(t.interval[1])}` : "-", t.p === null ? "-" : t.p.toPrecision(2),
      t.verdict === "too few samples" ? `too few samples (n=${t.n.join(", ")})` : t.verdict,
    ]);
  }
  const out = [
    `base ${c.base.path} (${c.base.commit?.slice(0, 7) ?? "?"}, ${c.base.date}) → head ${c.head.path} (${c.head.commit?.slice(0, 7) ?? "?"}, ${c.head.date})`,
    `timings: Mann–Whitney U at alpha ${c.options.alpha}, noise floor ±${(c.options.threshold * 100).toFixed(1)}%: ${c.regressions} regressed, ${c.improvements} improved, ${c.timings.length - c.regressions - c.improvements} unchanged or undecided`,
    "",
    ...textTable(rows, { left: [0, 7] }),
  ];
  if (c.only_base.length + c.only_head.length > 0) out.push("", `not compared: ${c.only_base.length} only in base, ${c.only_head.length} only in head`);
  out.push("", c.behaviour_changes.length === 0
    ? "outcomes: identical (no behaviour change)"
    : `outcomes: ${c.behaviour_changes.length} BEHAVIOUR CHANGES (same traces and options, different counters):`);
  for (const b of c.behaviour_changes) out.push(`  ${b.workload} ${b.policy} ${b.counter}: ${b.base ?? "absent"} → ${b.head ?? "absent"}`);
  return out.join("\n");
}
