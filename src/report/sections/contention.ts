// §6 Several workers on one shared core at once: throughput vs workers per policy (and hot set), lock spins, and
// (for the older files' pid partition, where workers race on the same inodes) how outcomes differ from one thread's.
import { lineChart } from "../charts/line.js";
import { policyColor } from "../charts/palette.js";
import type { ReportContext } from "../context.js";
import { count, rate, ratio, sig3 } from "../format.js";
import { html, type Html } from "../html.js";
import { orderPolicies } from "../policies.js";
import { note, notMeasured, pair, section, subheading } from "../section.js";
import { cell, table, type Cell } from "../table.js";
import type { ContentionRow } from "../types.js";

const PARTITIONS: Record<string, string> = {
  pid: "each worker replays the events of some processes: opens of one inode race across workers, so outcomes may differ from one thread's",
  inode: "each inode belongs to one worker: outcomes must equal one thread's (the bench fails otherwise)",
  shared: "every worker runs the locked conflict check on the same hot inodes: contended fi->lock",
  disjoint: "the control: each worker checks inodes of its own, and nothing written is shared: it must scale with the cores",
  connection: "BACKING_OPEN then CLOSE, each worker of its own file: the idr under fc->lock, measured apart from the check",
};

/** A line of the chart: a policy, and the hot set's size where the row has one. */
const seriesOf = (r: ContentionRow) => (r.hot_inodes === undefined ? r.policy : `${r.policy}, ${r.hot_inodes} hot`);

/** The counters shown as columns when they differ; the rest are named in the last column. */
const KEY_COUNTERS: [string, string][] = [
  ["accepted", "accepted"], ["eio", "EIO"], ["ebusy", "EBUSY"], ["etxtbsy", "ETXTBSY"], ["enoent", "ENOENT"],
  ["unsafe", "unsafe"], ["stale", "stale"], ["diverged", "diverged"], ["peak_backings", "peak backings"], ["peak_ids", "peak ids"],
];

/** Per run with more than one worker, each counter that differs from one thread's: "160 → 12,004". */
function differencesTable(rows: ContentionRow[]): Html {
  const multi = rows.filter((r) => r.workers > 1);
  const diffOf = (r: ContentionRow) => r.outcomes_differing_from_one_thread ?? {};
  if (multi.every((r) => Object.keys(diffOf(r)).length === 0)) return note("No outcome differs from one thread's.");
  const columns = KEY_COUNTERS.filter(([k]) => multi.some((r) => k in diffOf(r)));
  const shown = new Set(columns.map(([k]) => k));
  const body: Cell[][] = multi.map((r) => {
    const d = diffOf(r);
    const others = Object.entries(d).filter(([k]) => !shown.has(k));
    return [
      r.policy,
      String(r.workers),
      ...columns.map(([k]) => (d[k] ? cell(`${count(d[k].one_thread)} → ${count(d[k].threads)}`, k === "eio" || k === "unsafe" || k === "stale" ? "warn" : undefined) : cell("same", "muted"))),
      others.length === 0 ? "" : cell(others.map(([k]) => k).join(", "), "muted", others.map(([k, v]) => `${k}: ${count(v.one_thread)} → ${count(v.threads)}`).join("\n")),
    ];
  });
  return html`<h4>Outcomes vs one thread (one thread → these workers)</h4>${table({
    head: ["policy", "workers", ...columns.map(([, label]) => label), "other counters that differ"],
    rows: body,
    labelColumns: 2,
    textColumns: [columns.length + 2],
  })}`;
}

function partitionPart(partition: string, rows: ContentionRow[]): Html {
  const policies = orderPolicies(rows.map((r) => r.policy));
  const workers = [...new Set(rows.map((r) => r.workers))].sort((a, b) => a - b);
  const ordered = policies.flatMap((p) => rows.filter((r) => r.policy === p).sort((a, b) => (a.hot_inodes ?? 0) - (b.hot_inodes ?? 0) || a.workers - b.workers));
  const series = [...new Set(ordered.map(seriesOf))];
  const hot = rows.some((r) => r.hot_inodes !== undefined);
  const body = ordered.map((r) => [
    r.policy,
    ...(hot ? [String(r.hot_inodes ?? "")] : []),
    String(r.workers),
    rate(r.events_per_s),
    cell(ratio(r.speedup_vs_one), undefined, "one worker's wall time ÷ this wall time"),
    sig3(r.spins_per_acquisition),
    count(r.lock_acquisitions),
  ]);
  const chart = lineChart({
    title: `events/s vs workers, by ${partition}`,
    xLabel: "workers (log scale)",
    yLabel: "events/s",
    xScale: "log",
    xTicks: workers.map((w) => ({ value: w, label: String(w) })),
    lines: series.map((name, i) => ({
      name,
      color: policyColor(ordered.find((r) => seriesOf(r) === name)!.policy, i),
      points: ordered.filter((r) => seriesOf(r) === name).map((r) => ({ x: r.workers, y: r.events_per_s, label: `${name}, ${r.workers} worker${r.workers > 1 ? "s" : ""}: ${rate(r.events_per_s)} (${ratio(r.speedup_vs_one)} of one)` })),
    })),
  });
  return html`${subheading(`partitioned by ${partition}`)}${note(PARTITIONS[partition] ?? "")}${pair(table({
    head: ["policy", ...(hot ? ["hot inodes"] : []), "workers", "throughput", "speedup", "spins/acquisition", "lock acquisitions"],
    rows: body,
    labelColumns: hot ? 3 : 2,
  }), chart)}${differencesTable(rows)}`;
}

export function contentionSection(ctx: ReportContext): Html {
  const suite = ctx.latest.suites?.contention;
  const partitions = suite ? [...new Set(suite.results.map((r) => r.partition))] : [];
  return section({
    id: "contention",
    title: "Contention",
    intro: suite
      ? html`Workers (threads) share one wasm memory (${suite.workload}; ${count(suite.events)} events per run), taking each inode's spinlock with a compare-and-swap. Spins per acquisition: failed compare-and-swaps per lock taken.`
      : undefined,
    body: partitions.length ? partitions.map((p) => partitionPart(p, suite!.results.filter((r) => r.partition === p))) : notMeasured("contention"),
  });
}
