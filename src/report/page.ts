// The page around the sections: head with the inline style sheet, the header (which run, warnings, contents)
// and the footer.
import type { ReportContext } from "./context.js";
import { count, shortCommit } from "./format.js";
import { html, trusted, type Html } from "./html.js";
import { STYLE } from "./style.js";
import { table } from "./table.js";

export const SECTIONS: readonly { id: string; title: string }[] = [
  { id: "scenarios", title: "Scenarios" },
  { id: "outcomes", title: "Outcomes" },
  { id: "throughput", title: "Throughput" },
  { id: "checks", title: "Cost per check" },
  { id: "scaling", title: "Scaling" },
  { id: "contention", title: "Contention" },
  { id: "e2e", title: "End to end" },
  { id: "trend", title: "Trend" },
  { id: "manifest", title: "Manifest" },
];

function header(ctx: ReportContext): Html {
  const r = ctx.latest;
  const m = r.manifest;
  const warnings: Html[] = [];
  if (r.quick) warnings.push(html`<p class="warning">Quick run: small workloads and few reps. Figures are indicative only.</p>`);
  if (r.complete === false) warnings.push(html`<p class="warning">Interrupted run: only what was measured before the interrupt is reported.</p>`);
  if (m?.dirty) warnings.push(html`<p class="warning">Measured on a work tree with uncommitted changes (commit ${shortCommit(m.commit)} + changes).</p>`);
  const runs = ctx.input.results.length < 2 ? "" : table({
    caption: "Results files in this report (the sections describe the newest, the last row)",
    head: ["#", "date", "commit", "run", "suites"],
    rows: ctx.input.results.map((x, i) => [String(i + 1), x.manifest?.date ?? "—", shortCommit(x.manifest?.commit), x.quick ? "quick" : "full", Object.keys(x.suites ?? {}).join(", ")]),
    labelColumns: 5,
  });
  return html`<header><h1>fbreplay benchmark report</h1><p>Run of ${m?.date ?? "an unknown date"} at commit <code>${shortCommit(m?.commit)}</code>${m?.dirty ? " (dirty)" : ""} on ${m?.cpu ? `${m.cpu.model}, ${m.cpu.cores} cores` : "an unknown CPU"}; ${r.quick ? "quick" : "full"} run${r.wall_s !== undefined ? ` of ${count(r.wall_s)} s` : ""}. Every figure is a cost: smaller is better.</p>${warnings}${runs}<nav aria-label="Sections"><ul>${SECTIONS.map((s) => html`<li><a href="#${s.id}">${s.title}</a></li>`)}</ul></nav></header>`;
}

export function page(ctx: ReportContext, sections: readonly Html[], generatedAt: string): string {
  const m = ctx.latest.manifest;
  const title = `fbreplay benchmark report — ${shortCommit(m?.commit)} ${m?.date ?? ""}`.trim();
  const doc = html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${trusted(STYLE)}</style>
</head>
<body>
${header(ctx)}
<main>
${sections.map((s) => html`${s}\n`)}</main>
<footer>Generated ${generatedAt} by <code>fbreplay report</code> from ${count(ctx.input.results.length)} results file${ctx.input.results.length === 1 ? "" : "s"} and ${count(ctx.input.history.length)} history entr${ctx.input.history.length === 1 ? "y" : "ies"}. Self-contained: no scripts, no external resources.</footer>
</body>
</html>
`;
  return doc.text;
}
