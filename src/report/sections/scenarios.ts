// §1 The policy × scenario table of spec §d (what `fbreplay scenarios` prints), one cell per second open.
import { html } from "../html.js";
import { orderPolicies } from "../policies.js";
import { section } from "../section.js";
import { cell, table, type Cell } from "../table.js";
import { SCENARIOS, type ScenarioCell, type ScenarioTable } from "../../scenarios/index.js";

const MARK_TITLES = {
  unsafe: "the open reaches another backing inode than the cached one while a writer is open (two page caches)",
  stale: "the open is served another backing file than the daemon named, holding other bytes",
};

function scenarioCell(c: ScenarioCell | undefined): Cell {
  if (!c) return "—";
  if (c.result !== "ok") return cell(`${c.internal ?? "EIO"}→EIO`, "bad", `the kernel fails the open with ${c.internal ?? "EIO"}; the user sees EIO`);
  const marks = (["unsafe", "stale"] as const).filter((m) => c[m]);
  if (marks.length === 0) return cell("ok", "good", "the open succeeds");
  return cell(html`ok ${marks.map((m) => html`<span class="mark" title="${MARK_TITLES[m]}">${m}</span> `)}`, "warn", `the open succeeds, but ${marks.join(" and ")}`);
}

export function scenariosSection(scenarios: ScenarioTable | null): ReturnType<typeof section> {
  if (scenarios === null) {
    return section({
      id: "scenarios",
      title: "Scenarios: policy × outcome",
      intro: html`This results file carries no scenario table (it was written before \`npm run bench\` kept one): run the benchmarks again, or see \`fbreplay scenarios\`.`,
      body: html``,
    });
  }
  const names = Object.keys(scenarios);
  const policies = orderPolicies(names.flatMap((s) => Object.keys(scenarios[s])));
  const description = new Map(SCENARIOS.map((s) => [s.name, s.description]));
  const rows = names.map((name) => [name, ...policies.map((p) => scenarioCell(scenarios[name][p as keyof ScenarioTable[string]])), description.get(name) ?? ""]);
  return section({
    id: "scenarios",
    title: "Scenarios: policy × outcome",
    intro: html`In every scenario a first passthrough file, opened read-write, is still open when a second open of the same FUSE inode arrives; each cell is that second open's outcome under the policy (spec §d). <span class="mark">unsafe</span>: ${MARK_TITLES.unsafe}. <span class="mark">stale</span>: ${MARK_TITLES.stale}.`,
    body: table({ head: ["scenario", ...policies, "what happens"], rows, labelColumns: policies.length + 2, className: "scenarios" }),
  });
}
