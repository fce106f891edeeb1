// §7 End to end: replaying a trace file (read, verify, decode, copy into wasm memory, replay) vs the same events
// already in memory. Shows whether the trace format is the bottleneck.
import { barChart } from "../charts/bar.js";
import { SERIES_COLORS } from "../charts/palette.js";
import type { ReportContext } from "../context.js";
import { describeEstimate, errorBar, estimateCell } from "../estimate.js";
import { count, rate, ratio } from "../format.js";
import { html, type Html } from "../html.js";
import { notMeasured, pair, section } from "../section.js";
import { cell, table } from "../table.js";

const MODES = [["from-file", "from file"], ["in-memory", "in memory"]] as const;

export function e2eSection(ctx: ReportContext): Html {
  const suite = ctx.latest.suites?.e2e;
  if (!suite || suite.rows.length === 0) return section({ id: "e2e", title: "End to end", body: notMeasured("e2e") });
  const sets = suite.rows.map((r) => ({ row: r, key: r.policies.length > 1 ? "all" : r.policies[0], label: r.policies.length > 1 ? `all ${r.policies.length}` : r.policies[0] }));
  const est = (mode: string, key: string) => ctx.benchmarks.estimate(`e2e/${mode}/${key}`);
  const rows = sets.map(({ row, key, label }) => {
    const file = est("from-file", key);
    const memory = est("in-memory", key);
    return [
      cell(label, undefined, row.policies.join(", ")),
      estimateCell(file, `${label}, from file`, "/event"),
      estimateCell(memory, `${label}, in memory`, "/event"),
      rate(row.e2e_events_per_s),
      rate(row.in_memory_events_per_s),
      file && memory ? cell(ratio(file.median / memory.median), undefined, "from-file ns/event ÷ in-memory ns/event") : "—",
    ];
  });
  const chart = barChart({
    title: "from file vs in memory",
    yLabel: "ns/event (median)",
    xLabel: "policies replayed",
    series: MODES.map(([, name], i) => ({ name, color: SERIES_COLORS[i] })),
    groups: sets.map(({ key, label }) => ({
      name: label,
      bars: MODES.map(([mode, name]) => {
        const e = est(mode, key);
        return e ? { value: e.median, ...errorBar(e), label: describeEstimate(`${label}, ${name}`, e, "/event") } : null;
      }),
    })),
  });
  return section({
    id: "e2e",
    title: "End to end",
    intro: html`Trace <code>${suite.trace}</code> (${count(suite.events)} events) replayed from its file in the page cache (read, checksum, decode, copy into wasm memory, replay) against the same events already in memory. Under each median its 95% interval, or "n too small" with fewer than 3 reps. With all policies, ns per event counts each policy's replay of an event.`,
    body: pair(table({
      head: ["policies", "from file ns/event", "in memory ns/event", "from file", "in memory", "file ÷ memory"],
      rows,
    }), chart),
  });
}
