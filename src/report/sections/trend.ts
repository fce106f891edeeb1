// §8 Headline benchmarks over the history of runs (bench/history.jsonl), with change points flagged by the rule
// of `fbreplay compare` and `fbreplay history`; and, when several results files are given, the newest against the
// one before it.
import { changePoints, type Step } from "../../compare/history.js";
import { DEFAULT_ALPHA, DEFAULT_THRESHOLD, MIN_SAMPLES } from "../../compare/stats.js";
import { lineChart, type Line } from "../charts/line.js";
import { policyColor } from "../charts/palette.js";
import type { ReportContext } from "../context.js";
import { change, count, duration, percent, shortCommit, sig3 } from "../format.js";
import { html, type Html } from "../html.js";
import { orderPolicies } from "../policies.js";
import { note, pair, section, subheading } from "../section.js";
import { median } from "../stats.js";
import { cell, table, type Cell } from "../table.js";
import type { Benchmark, HistoryEntry } from "../types.js";

/** A benchmark's value for people: durations for ns units, else the number and its unit. */
export function formatValue(v: number, unit: string): string {
  return unit.startsWith("ns") ? duration(v) : `${sig3(v)} ${unit}`;
}

/** One benchmark across the runs that measured it. */
interface Series {
  name: string;
  policy: string;
  unit: string;
  /** Index into the history of each run that measured it. */
  runs: number[];
  medians: number[];
  /** steps[i] compares runs[i + 1] with runs[i]. */
  steps: Step[];
}

const SYNTH = /^throughput\/(synth[^/]*)\/wasm\/[^/]+$/;
/** The headline benchmarks' names; group 1 is the policy. */
const HEADLINE = /^(?:throughput\/synth[^/]*\/wasm|check\/cache)\/([^/]+)$/;

/** The synthetic workload of the throughput headlines: the one the newest run that had one measured. */
function synthWorkload(history: HistoryEntry[]): string | undefined {
  for (let i = history.length - 1; i >= 0; i--) {
    for (const b of history[i].benchmarks ?? []) {
      const m = SYNTH.exec(b.name);
      if (m) return m[1];
    }
  }
  return undefined;
}

function seriesOf(history: HistoryEntry[], name: string, policy: string): Series {
  const found: { run: number; b: Benchmark }[] = [];
  history.forEach((h, run) => {
    const b = (h.benchmarks ?? []).find((x) => x.name === name);
    if (b && b.samples.length > 0) found.push({ run, b });
  });
  return {
    name,
    policy,
    unit: found[0]?.b.unit ?? "",
    runs: found.map((f) => f.run),
    medians: found.map((f) => median(f.b.samples)),
    steps: changePoints(found.map((f) => f.b.samples), DEFAULT_THRESHOLD, DEFAULT_ALPHA),
  };
}

function runLabel(h: HistoryEntry, run: number): string {
  return `run ${run + 1}, ${shortCommit(h.commit)}${h.manifest?.dirty ? " (dirty)" : ""}, ${h.date}${h.quick ? ", quick" : ""}`;
}

function chartOf(title: string, yLabel: string, series: Series[], history: HistoryEntry[]): Html {
  const runs = [...new Set(series.flatMap((s) => s.runs))].sort((a, b) => a - b);
  const lines: Line[] = series.filter((s) => s.runs.length > 0).map((s, i) => ({
    name: s.policy,
    color: policyColor(s.policy, i),
    points: s.runs.map((run, k) => {
      const step = k > 0 ? s.steps[k - 1] : undefined;
      const flagged = step?.flagged ?? false;
      const why = flagged ? ` — change point: ${step!.verdict}, ${change(step!.change)} vs the previous run` : "";
      return { x: run + 1, y: s.medians[k], flagged, label: `${s.name}, ${runLabel(history[run], run)}: median ${formatValue(s.medians[k], s.unit)}${why}` };
    }),
  }));
  return lineChart({
    title,
    xLabel: "run (commit)",
    yLabel,
    xScale: "linear",
    xTicks: runs.map((run) => ({ value: run + 1, label: shortCommit(history[run].commit) })),
    lines,
  });
}

function summaryTable(series: Series[], history: HistoryEntry[]): Html {
  const rows: Cell[][] = series.filter((s) => s.runs.length > 0).map((s) => {
    const first = s.medians[0];
    const last = s.medians[s.medians.length - 1];
    const flagged = s.steps.filter((st) => st.flagged);
    return [
      cell(s.policy, undefined, s.name),
      String(s.runs.length),
      formatValue(first, s.unit),
      formatValue(last, s.unit),
      s.runs.length > 1 ? change((last - first) / first) : "—",
      flagged.length === 0 ? (s.steps.length > 0 && s.steps.every((st) => st.verdict === "too few samples") ? `none (under ${MIN_SAMPLES} samples a run)` : "none") : cell(flagged.map((st) => {
        const run = s.runs[st.index];
        return `run ${run + 1} (${shortCommit(history[run].commit)}) ${change(st.change)}`;
      }).join("; "), flagged.some((st) => st.change > 0) ? "bad" : "good"),
    ];
  });
  return table({ head: ["policy", "runs", "first", "latest", "latest vs first", "change points"], rows, textColumns: [5], className: "trend" });
}

function historyPart(history: HistoryEntry[]): Html {
  const synth = synthWorkload(history);
  const policies = orderPolicies(history.flatMap((h) => (h.benchmarks ?? []).flatMap((b) => HEADLINE.exec(b.name)?.[1] ?? [])));
  const throughput = synth ? policies.map((p) => seriesOf(history, `throughput/${synth}/wasm/${p}`, p)) : [];
  const checks = policies.map((p) => seriesOf(history, `check/cache/${p}`, p));
  const parts: Html[] = [];
  for (const [what, series, title, yLabel] of [
    ["throughput", throughput, `throughput/${synth ?? "synth"}/wasm: ns per event`, "ns/event (median)"],
    ["check", checks, "check/cache: ns per check", "ns/check (median)"],
  ] as const) {
    const measured = series.filter((s) => s.runs.length > 0);
    if (measured.length === 0) {
      parts.push(html`${subheading(title)}<p class="absent">Not measured in any run of the history (the ${what} suite).</p>`);
      continue;
    }
    parts.push(html`${subheading(title)}${pair(summaryTable(measured, history), chartOf(title, yLabel, measured, history))}`);
  }
  return html`${parts}`;
}

/** Every benchmark the newest and the previous results file both measured, under the same change rule. */
function previousResultsPart(ctx: ReportContext): Html {
  const results = ctx.input.results;
  const previous = results[results.length - 2];
  const before = new Map((previous.benchmarks ?? []).map((b) => [b.name, b]));
  const compared = (ctx.latest.benchmarks ?? []).filter((b) => before.has(b.name) && b.samples.length > 0 && before.get(b.name)!.samples.length > 0).map((b) => {
    const step = changePoints([before.get(b.name)!.samples, b.samples], DEFAULT_THRESHOLD, DEFAULT_ALPHA)[0];
    return { b, step };
  });
  const row = ({ b, step }: (typeof compared)[number]): Cell[] => [
    b.name,
    formatValue(step.previous, b.unit),
    formatValue(step.current, b.unit),
    cell(change(step.change), step.flagged ? (step.change > 0 ? "bad" : "good") : undefined),
    step.verdict,
  ];
  const head = ["benchmark", "previous", "newest", "change", "verdict"];
  const changed = compared.filter((c) => c.step.flagged);
  const title = `Newest results (${shortCommit(ctx.latest.manifest?.commit)}) vs the previous results file (${shortCommit(previous.manifest?.commit)}, ${previous.manifest?.date ?? "undated"})`;
  if (compared.length === 0) return html`${subheading(title)}<p class="absent">No benchmark measured in both files.</p>`;
  return html`${subheading(title)}${note(`${count(changed.length)} of ${count(compared.length)} benchmarks measured in both regressed or improved.`)}${
    changed.length ? table({ head, rows: changed.map(row) }) : ""
  }<details><summary>All ${count(compared.length)} benchmarks compared</summary>${table({ head, rows: compared.map(row) })}</details>`;
}

export function trendSection(ctx: ReportContext): Html {
  const history = ctx.input.history;
  const body: Html[] = [];
  if (history.length < 2) {
    body.push(html`<p class="absent">Fewer than 2 history entries (${history.length} in bench/history.jsonl): no trend yet. Every complete bench run appends one.</p>`);
  } else {
    body.push(historyPart(history));
  }
  if (ctx.input.results.length >= 2) body.push(previousResultsPart(ctx));
  return section({
    id: "trend",
    title: "Trend",
    intro: html`Medians of headline benchmarks per run of the history (oldest left). A run is a change point (ringed in red) when \`fbreplay compare\` would call it a regression or an improvement against the previous run: a Mann–Whitney U test at α = ${DEFAULT_ALPHA} on the samples, the ratio of medians beyond ${percent(DEFAULT_THRESHOLD)}, and its ${percent(1 - DEFAULT_ALPHA)} bootstrap interval on the same side of 1; runs with fewer than ${MIN_SAMPLES} samples are never flagged (too few samples). \`fbreplay history\` flags the same runs. Runs that did not measure a benchmark (quick runs replay a smaller synthetic trace) are left out of its line. Positive changes are slower.`,
    body,
  });
}
