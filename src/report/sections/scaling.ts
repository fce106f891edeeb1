// §5 How the cost per event moves with the trace's length (events) and with the number of FUSE inodes.
import { lineChart } from "../charts/line.js";
import { policyColor } from "../charts/palette.js";
import type { ReportContext } from "../context.js";
import { count, duration, ratio, tick } from "../format.js";
import { html, type Html } from "../html.js";
import { orderPolicies } from "../policies.js";
import { notMeasured, pair, section, subheading } from "../section.js";
import { cell, table, type Cell } from "../table.js";
import type { ScalingPoint } from "../types.js";

type Axis = "events" | "inodes";

function curve(points: ScalingPoint[], axis: Axis, policies: string[], flatness?: Record<string, number>): Html {
  const key = (pt: ScalingPoint) => (axis === "events" ? pt.events : pt.inodes ?? 0);
  const sorted = [...points].sort((a, b) => key(a) - key(b));
  const rows: Cell[][] = sorted.map((pt) => [
    tick(key(pt)),
    ...policies.map((p) => {
      const v = pt.ns_per_event[p];
      const n = pt.samples_ns_per_event?.[p]?.length ?? 0;
      return v === undefined ? "—" : cell(duration(v), undefined, `${p} at ${count(key(pt))} ${axis}: ${duration(v)}/event, median of ${n} sample${n === 1 ? "" : "s"}`);
    }),
  ]);
  if (flatness) {
    rows.push([cell("flatness", "total"), ...policies.map((p) => (flatness[p] === undefined ? "—" : cell(ratio(flatness[p]), "total", "slowest ÷ fastest ns/event along the curve: 1 is flat")))]);
  }
  const chart = lineChart({
    title: `ns per event vs ${axis}`,
    xLabel: `${axis} (log scale)`,
    yLabel: "ns/event",
    xScale: "log",
    lines: policies.map((p, i) => ({
      name: p,
      color: policyColor(p, i),
      points: sorted.filter((pt) => pt.ns_per_event[p] !== undefined).map((pt) => ({
        x: key(pt),
        y: pt.ns_per_event[p],
        label: `${p}, ${count(key(pt))} ${axis}: ${duration(pt.ns_per_event[p])}/event`,
      })),
    })),
  });
  return html`${subheading(`by ${axis}`)}${pair(table({ head: [axis, ...policies], rows }), chart)}`;
}

export function scalingSection(ctx: ReportContext): Html {
  const suite = ctx.latest.suites?.scaling;
  const body = !suite ? notMeasured("scaling") : (() => {
    const policies = orderPolicies(suite.policies ?? Object.keys(suite.flatness ?? {}));
    const parts: Html[] = [];
    if (suite.by_events?.length) parts.push(curve(suite.by_events, "events", policies, suite.flatness));
    if (suite.by_inodes?.length) parts.push(curve(suite.by_inodes, "inodes", policies));
    return parts.length ? parts : notMeasured("scaling");
  })();
  return section({
    id: "scaling",
    title: "Scaling",
    intro: "ns per event (wasm engine) on synthetic traces of growing length at a fixed number of inodes, and of a fixed length over more and more inodes. Flatness: slowest ÷ fastest ns/event along the length curve (1 = the cost does not grow with the trace).",
    body,
  });
}
