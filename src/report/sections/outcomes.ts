// §2 What users see per policy on each workload of the newest run: errors, unsafe or stale accepts, resources.
import type { ReportContext } from "../context.js";
import { count, percent } from "../format.js";
import { html, type Html } from "../html.js";
import { orderPolicies } from "../policies.js";
import { notMeasured, section, subheading } from "../section.js";
import { cell, table, type Cell } from "../table.js";
import type { Counters } from "../types.js";

const COLUMNS: { head: string; cell: (o: Counters) => Cell }[] = [
  { head: "opens", cell: (o) => num(o.opens) },
  { head: "accepted", cell: (o) => num(o.accepted) },
  { head: "EBUSY", cell: (o) => flag(o.ebusy, "bad") },
  { head: "ETXTBSY", cell: (o) => flag(o.etxtbsy, "bad") },
  { head: "EIO", cell: (o) => flag(o.eio, "bad") },
  { head: "EIO %", cell: (o) => (o.opens ? cell(percent((o.eio ?? 0) / o.opens), o.eio ? "bad" : undefined, "EIO seen by users / opens") : "—") },
  { head: "unsafe", cell: (o) => flag(o.unsafe, "warn") },
  { head: "stale", cell: (o) => flag(o.stale, "warn") },
  { head: "peak backings", cell: (o) => num(o.peak_backings) },
  { head: "peak ids", cell: (o) => num(o.peak_ids) },
  { head: "anomalies", cell: (o) => flag(o.anomalies, "warn") },
];

function num(v: number | undefined): string {
  return v === undefined ? "—" : count(v);
}

/** A counter that should be 0: highlighted when it is not. */
function flag(v: number | undefined, className: string): Cell {
  return v ? cell(count(v), className) : num(v);
}

export function outcomesSection(ctx: ReportContext): Html {
  const workloads = Object.entries(ctx.latest.outcomes ?? {});
  const body = workloads.length === 0 ? notMeasured("throughput") : workloads.map(([name, w]) => {
    const policies = orderPolicies(Object.keys(w.policies));
    return html`${subheading(name)}<p class="workload">${w.description} <span class="hash" title="sha256 of the replayed events">sha256 ${w.sha256.slice(0, 12)}…</span></p>${table({
      head: ["policy", ...COLUMNS.map((c) => c.head)],
      rows: policies.map((p) => [p, ...COLUMNS.map((c) => c.cell(w.policies[p]))]),
    })}`;
  });
  return section({
    id: "outcomes",
    title: "Outcomes per policy",
    intro: "Counted by the replay of each workload (deterministic: a change here is a change of behaviour, not noise). EBUSY and ETXTBSY are the kernel's refusals behind the EIO users see; unsafe and stale are accepted opens that should not have been; peaks are live fuse_backing objects and registered backing ids.",
    body,
  });
}
