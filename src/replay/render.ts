// What a replay report looks like to a person: one policy × outcome table per trace, and several traces side by side.
import { textTable } from "../table.js";
import type { PolicyReport, ReplayReport } from "./drive.js";
import type { Policy } from "../engine.js";

/**
 * Several traces side by side, one row each: the share of opens that users saw fail with EIO under each policy,
 * then the accepts that were unsafe (two page caches while one may write) or stale (another file's bytes). Rows are
 * sorted by trace name (by code unit, whatever the shell's locale sorted its glob by).
 */
export function formatReplaySummary(unsorted: readonly ReplayReport[]): string {
  const name = (r: ReplayReport) => r.trace.path.replace(/^.*\//, "").replace(/\.fbt$/, "");
  const reports = [...unsorted].sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
  const policies = [...new Set(reports.flatMap((r) => Object.keys(r.policies)))] as Policy[];
  const pct = (r: PolicyReport | undefined) => (r === undefined ? "-" : r.opens ? ((100 * r.eio) / r.opens).toFixed(3) : "0.000");
  const bad = (r: PolicyReport | undefined) => (r === undefined ? "-" : String(r.unsafe + r.stale));
  const eio = [["EIO % of opens", ...policies], ...reports.map((r) => [name(r), ...policies.map((p) => pct(r.policies[p]))])];
  const accepts = [["unsafe + stale accepts", ...policies], ...reports.map((r) => [name(r), ...policies.map((p) => bad(r.policies[p]))])];
  return ["All traces:", "", ...textTable(eio), "", ...textTable(accepts)].join("\n");
}

/** The policy × outcome table a person reads. */
export function formatReplayTable(report: ReplayReport): string {
  const cols: [string, (r: PolicyReport) => string][] = [
    ["opens", (r) => String(r.opens)],
    ["accepted", (r) => String(r.accepted)],
    ["EBUSY", (r) => String(r.ebusy)],
    ["ETXTBSY", (r) => String(r.etxtbsy)],
    ["EIO", (r) => String(r.eio)],
    ["EIO %", (r) => (r.opens ? ((100 * r.eio) / r.opens).toFixed(3) : "0")],
    ["unsafe", (r) => String(r.unsafe)],
    ["stale", (r) => String(r.stale)],
    ["peak fb", (r) => String(r.peak_backings)],
    ["peak ids", (r) => String(r.peak_ids)],
    ["anomalies", (r) => String(r.anomalies)],
    ["ns/event", (r) => r.ns_per_event.toFixed(1)],
  ];
  const rows = [["policy", ...cols.map((c) => c[0])]];
  for (const [p, r] of Object.entries(report.policies)) rows.push([p, ...cols.map((c) => c[1](r!))]);
  const inj = report.injected;
  const head = [
    `${report.trace.path}: ${report.trace.workload} (${report.trace.source}, ${report.trace.events} events)`,
    `replayed ${report.events} events on ${report.engine}, daemon ${report.daemon}, scale ${inj.scale}, ` +
      `${inj.restarts} restarts, ${inj.redownloads} re-downloads, ${inj.replacements} replacements (seed ${inj.seed})` +
      (report.complete ? "" : " — INTERRUPTED, counts are partial"),
    `${report.resources.wall_s} s in all (${(report.resources.events_per_s / 1e6).toFixed(1)}M events/s over ` +
      `${Object.keys(report.policies).length} policies), peak RSS ${report.resources.peak_rss_mb} MB`,
  ];
  return [...head, "", ...textTable(rows)].join("\n");
}
