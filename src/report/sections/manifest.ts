// §9 What the newest run was measured on: enough to reproduce it, or to refuse comparing it with another.
import type { ReportContext } from "../context.js";
import { count } from "../format.js";
import { html, type Child, type Html } from "../html.js";
import { section, subheading } from "../section.js";
import { keyValueTable, table } from "../table.js";
import type { Manifest } from "../types.js";

/** Options as `key=value` items: {a: 1, b: [x, y]} → "a=1", "b=x,y". */
function options(o: Record<string, unknown> | undefined): Child {
  if (!o) return "—";
  return html`<ul class="options">${Object.entries(o).map(([k, v]) => html`<li><code>${k}=${Array.isArray(v) ? v.join(",") : typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)}</code></li>`)}</ul>`;
}

function native(n: Manifest["native"] | undefined): Child {
  if (!n) return "—";
  if ("skipped" in n) return `skipped: ${n.skipped}`;
  return html`<code>${n.cc} ${(n.flags ?? []).join(" ")}</code> — ${n.version}`;
}

export function manifestSection(ctx: ReportContext): Html {
  const r = ctx.latest;
  const m = r.manifest ?? ({} as Partial<Manifest>);
  const entries: [Child, Child][] = [
    ["date", m.date ?? "—"],
    ["commit", html`<code>${m.commit ?? "not a git checkout"}</code>`],
    ["dirty", m.dirty === undefined ? "—" : m.dirty ? "yes: uncommitted changes were measured" : "no"],
    ["run", `${r.quick ? "quick" : "full"}, ${r.complete === false ? "interrupted (partial)" : "complete"}${r.wall_s !== undefined ? `, ${count(r.wall_s)} s wall` : ""}; suites: ${Object.keys(r.suites ?? {}).join(", ") || "none"}`],
    ["node", m.node ?? "—"],
    ["v8", m.v8 ?? "—"],
    ["asc", m.asc?.version ?? "—"],
    ["asc flags (release)", options(m.asc?.flags)],
    ["native C", native(m.native)],
    ["CPU", m.cpu ? `${m.cpu.model}, ${m.cpu.cores} cores` : "—"],
    ["memory", m.memory_gib !== undefined ? `${m.memory_gib} GiB` : "—"],
    ["kernel", m.kernel ?? "—"],
    ["tinybench", options(m.tinybench)],
  ];
  const workloads = m.workloads ?? [];
  return section({
    id: "manifest",
    title: "Run manifest",
    body: html`${keyValueTable(entries)}${subheading("Workloads")}${workloads.length === 0 ? html`<p class="absent">No replay workloads in this run.</p>` : table({
      head: ["workload", "events", "sha256", "description"],
      rows: workloads.map((w) => [w.name, count(w.events), html`<code class="hash">${w.sha256}</code>`, w.description]),
      textColumns: [2, 3],
      className: "workloads",
    })}`,
  });
}
