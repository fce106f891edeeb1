// `fbreplay history`: the trend of each benchmark over the runs in bench/history.jsonl, with change points: a run
// whose samples differ from the previous run's as `compare` would call a regression or an improvement.
import { textTable } from "../table.js";
import { compareSamples, median, type Verdict } from "./stats.js";
import type { HistoryCore } from "../results/index.js";

export interface ChangePoint {
  run: number;
  commit: string | null;
  /** Median of this run over the previous run's. */
  ratio: number;
  verdict: "regressed" | "improved";
}

export interface Trend {
  name: string;
  unit: string;
  /** One point per run that measured it (quick and full runs are separate trends). */
  points: { run: number; date: string; commit: string | null; median: number; n: number }[];
  change_points: ChangePoint[];
}

/** One run's samples against the previous run's, as `compare` judges them. */
export interface Step {
  /** Index of the run in the series given (1 for the first step). */
  index: number;
  previous: number;
  current: number;
  /** current / previous − 1 (medians): positive is slower, as every unit is a cost. */
  change: number;
  verdict: Verdict;
  /** A regression or an improvement: a change point. */
  flagged: boolean;
}

/** The change points of one benchmark's series of runs (each run's samples), by the rule of `compare`. */
export function changePoints(runs: readonly (readonly number[])[], threshold: number, alpha: number): Step[] {
  const steps: Step[] = [];
  for (let i = 1; i < runs.length; i++) {
    const c = compareSamples("", "", runs[i - 1], runs[i], threshold, alpha);
    steps.push({
      index: i, previous: c.base_median, current: c.head_median, change: c.ratio - 1, verdict: c.verdict,
      flagged: c.verdict === "regressed" || c.verdict === "improved",
    });
  }
  return steps;
}

export function trends(history: readonly HistoryCore[], threshold: number, alpha: number, quick: boolean): Trend[] {
  const byName = new Map<string, Trend>();
  const lastSamples = new Map<string, number[]>();
  history.forEach((entry, run) => {
    if (entry.quick !== quick) return;
    for (const b of entry.benchmarks) {
      let t = byName.get(b.name);
      if (t === undefined) byName.set(b.name, (t = { name: b.name, unit: b.unit, points: [], change_points: [] }));
      t.points.push({ run, date: entry.date, commit: entry.commit, median: median(b.samples), n: b.samples.length });
      const previous = lastSamples.get(b.name);
      if (previous !== undefined) {
        const [step] = changePoints([previous, b.samples], threshold, alpha);
        if (step.verdict === "regressed" || step.verdict === "improved") t.change_points.push({ run, commit: entry.commit, ratio: step.change + 1, verdict: step.verdict });
      }
      lastSamples.set(b.name, b.samples);
    }
  });
  return [...byName.values()];
}

export function formatTrends(ts: readonly Trend[], quick: boolean): string {
  if (ts.length === 0) return `no ${quick ? "quick" : "full"} runs in the history`;
  const rows = [["benchmark", "unit", "runs", "first", "last", "last/first", "change points"]];
  for (const t of ts) {
    const first = t.points[0].median;
    const last = t.points.at(-1)!.median;
    rows.push([
      t.name, t.unit, String(t.points.length), first.toPrecision(4), last.toPrecision(4), (last / first).toFixed(3),
      t.change_points.map((c) => `${c.verdict} ${((c.ratio - 1) * 100).toFixed(1)}% at run ${c.run} (${c.commit?.slice(0, 7) ?? "?"})`).join("; ") || "-",
    ]);
  }
  return textTable(rows, { left: [0, 6] }).join("\n");
}
