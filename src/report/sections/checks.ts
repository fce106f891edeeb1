// §4 The conflict check alone: cost per check per policy with the inode table in cache and beyond the LLC, and
// the cost of one JS → wasm call (what feeding events in batches saves).
import { barChart } from "../charts/bar.js";
import { SERIES_COLORS } from "../charts/palette.js";
import type { ReportContext } from "../context.js";
import { describeEstimate, errorBar, intervalCell } from "../estimate.js";
import { count, duration, sig3, trimZeros } from "../format.js";
import { html, type Html } from "../html.js";
import { orderPolicies } from "../policies.js";
import { notMeasured, pair, section, subheading } from "../section.js";
import { cell, keyValueTable, table } from "../table.js";
import type { CheckRow, CheckSuite } from "../types.js";

function regimeTable(ctx: ReportContext, regime: string, rows: CheckRow[]): Html {
  const byPolicy = new Map(rows.map((r) => [r.policy, r]));
  const body = orderPolicies(byPolicy.keys()).map((p) => {
    const r = byPolicy.get(p)!;
    const e = ctx.benchmarks.estimate(`check/${regime}/${p}`);
    return [
      p,
      duration(r.ns_per_check.p50),
      duration(r.ns_per_check.p99),
      cell(`±${trimZeros(sig3(r.rme_percent))} %`, r.rme_percent > 5 ? "warn" : undefined, "relative margin of error of the mean (tinybench)"),
      count(r.samples),
      intervalCell(e),
      count(r.conflicts_per_batch),
    ];
  });
  const inodes = rows[0]?.fuse_inodes;
  return html`<h4>${regime}${inodes ? ` (${count(inodes)} FUSE inodes, batches of ${count(rows[0].batch)} checks)` : ""}</h4>${table({
    head: ["policy", "p50", "p99", "rme", "samples", "95% CI of median", "conflicts/batch"],
    rows: body,
  })}`;
}

function callCost(ctx: ReportContext, call: CheckSuite["call_ns"]): Html {
  const e = ctx.benchmarks.estimate("check/js-to-wasm-call");
  return html`${subheading("JS → wasm call")}${keyValueTable([
    ["p50", `${duration(call.p50)} per call`],
    ["min", `${duration(call.min)} per call`],
    ["95% CI of median", intervalCell(e)],
    ["samples", `${count(call.samples)} × ${count(call.calls_per_sample)} calls`],
  ])}`;
}

export function checksSection(ctx: ReportContext): Html {
  const suite = ctx.latest.suites?.check;
  if (!suite) return section({ id: "checks", title: "Cost per check", body: notMeasured("check") });
  const regimes = [...new Set(suite.checks.map((c) => c.regime))];
  const policies = orderPolicies(suite.checks.map((c) => c.policy));
  const chart = barChart({
    title: "ns per conflict check",
    yLabel: "ns/check (median)",
    xLabel: "policy",
    series: regimes.map((r, i) => ({ name: r, color: SERIES_COLORS[i] })),
    groups: policies.map((p) => ({
      name: p,
      bars: regimes.map((r) => {
        const e = ctx.benchmarks.estimate(`check/${r}/${p}`);
        return e ? { value: e.median, ...errorBar(e), label: describeEstimate(`${p}, ${r}`, e, "/check") } : null;
      }),
    })),
  });
  const tables = regimes.map((r) => regimeTable(ctx, r, suite.checks.filter((c) => c.regime === r)));
  return section({
    id: "checks",
    title: "Cost per check",
    intro: "The passthrough open's conflict check alone, called in batches from one wasm export (tinybench: p50 and p99 of the batches, divided by the checks per batch). cache: a small inode table that stays in cache; beyond-llc: an inode table larger than the last-level cache, visited in random order. Error bars: 95% bootstrap interval of the median.",
    body: html`${pair(html`${tables}${callCost(ctx, suite.call_ns)}`, chart)}`,
  });
}
