// §3 Replay cost per event, per policy and engine (wasm core, TypeScript model, native C), with intervals and ratios.
import { barChart } from "../charts/bar.js";
import { SERIES_COLORS } from "../charts/palette.js";
import type { ReportContext } from "../context.js";
import { describeEstimate, errorBar, estimateCell } from "../estimate.js";
import { compact, count, rate, ratio } from "../format.js";
import { html, type Html } from "../html.js";
import { orderPolicies } from "../policies.js";
import { notMeasured, pair, section, subheading } from "../section.js";
import type { MedianEstimate } from "../stats.js";
import { cell, table, type Cell } from "../table.js";
import type { ThroughputWorkload } from "../types.js";

export const ENGINES = ["wasm", "js", "native"] as const;

const ratioCell = (a: MedianEstimate | undefined, b: MedianEstimate | undefined, title: string): Cell =>
  a && b ? cell(ratio(a.median / b.median), undefined, title) : "—";

function workloadPart(ctx: ReportContext, w: ThroughputWorkload): Html {
  const policies = orderPolicies(Object.keys(w.policies));
  const est = (engine: string, policy: string) => ctx.benchmarks.estimate(`throughput/${w.workload}/${engine}/${policy}`);
  const engines = ENGINES.filter((e) => policies.some((p) => est(e, p)));
  const rows = policies.map((p) => {
    const perEngine = engines.map((e) => estimateCell(est(e, p), `${p}, ${e}`, "/event"));
    const wasm = est("wasm", p);
    return [
      p,
      ...perEngine,
      wasm ? cell(compact(1e9 / wasm.median), undefined, rate(1e9 / wasm.median)) : "—",
      ratioCell(wasm, est("native", p), "wasm ns/event ÷ native ns/event: below 1, the wasm core is faster than C"),
      ratioCell(est("js", p), wasm, "js ns/event ÷ wasm ns/event: how many times slower the TypeScript model is"),
    ];
  });
  const chart = barChart({
    title: `${w.workload}: ns per event`,
    yLabel: "ns/event (median)",
    xLabel: "policy",
    series: engines.map((e, i) => ({ name: e, color: SERIES_COLORS[i] })),
    groups: policies.map((p) => ({
      name: p,
      bars: engines.map((e) => {
        const x = est(e, p);
        return x ? { value: x.median, ...errorBar(x), label: describeEstimate(`${p}, ${e}`, x, "/event") } : null;
      }),
    })),
  });
  const head = ["policy", ...engines.map((e) => `${e} ns/event`), "wasm events/s", "wasm/native", "js/wasm"];
  return html`${subheading(w.workload)}<p class="workload">${w.description}; ${count(w.events)} events</p>${pair(table({ head, rows }), chart)}`;
}

export function throughputSection(ctx: ReportContext): Html {
  const suite = ctx.latest.suites?.throughput;
  return section({
    id: "throughput",
    title: "Throughput: ns per event",
    intro: html`Wall time of the replay call divided by the events, per rep (the engines interleaved rep by rep), median of ${suite?.reps ?? "the"} reps; under each median, its 95% interval (percentile bootstrap of the median, 2000 resamples, seed 1), or "n too small" with fewer than 3 reps (then no error bar either). wasm/native below 1: the wasm core is faster than C; js/wasm: how many times slower the TypeScript model is. Ratios are of medians taken in this run.`,
    body: suite && suite.workloads.length > 0 ? suite.workloads.map((w) => workloadPart(ctx, w)) : notMeasured("throughput"),
  });
}
