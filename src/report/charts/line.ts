// Line chart: one line per series over a linear or log x axis, points with tooltips, flagged points ringed.
import { html, type Html } from "../html.js";
import { tick } from "../format.js";
import { chartShell, px, xAxis, yAxis } from "./frame.js";
import { linearScale, logScale, logTicks, zeroBasedTicks } from "./scale.js";

export interface Point {
  x: number;
  y: number;
  /** The tooltip. */
  label: string;
  /** Drawn with a ring (a change point). */
  flagged?: boolean;
}

export interface Line {
  name: string;
  color: string;
  points: Point[];
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  lines: Line[];
  xScale: "log" | "linear";
  /** Where to put x ticks and what to write there; default: 1-2-5 ticks (log) or nice ticks (linear). */
  xTicks?: { value: number; label: string }[];
}

const INSET = 18;
const MIN_TICK_GAP = 30;

/** The data's own x values, then 1-2-5 (log) or nice (linear) ticks that do not crowd them. */
function defaultTicks(kind: "log" | "linear", xs: number[], x0: number, x1: number, at: (v: number) => number): { value: number; label: string }[] {
  const chosen = [...new Set(xs)].length <= 6 ? [...new Set(xs)] : [];
  for (const v of kind === "log" ? logTicks(x0, x1) : zeroBasedTicks(x1)) {
    if (chosen.every((c) => Math.abs(at(c) - at(v)) >= MIN_TICK_GAP)) chosen.push(v);
  }
  return chosen.map((v) => ({ value: v, label: tick(v) }));
}

export function lineChart(chart: LineChart): Html {
  const shell = chartShell(chart.title, chart.lines.map((l) => ({ name: l.name, color: l.color })));
  const { area } = shell;
  const lines = chart.lines.map((l) => ({ ...l, points: l.points.filter((p) => Number.isFinite(p.y) && (chart.xScale === "linear" || p.x > 0)) }));
  const points = lines.flatMap((l) => l.points);
  if (points.length === 0) return html`<p class="absent">${chart.title}: nothing to draw.</p>`;
  const xs = points.map((p) => p.x);
  let x0 = Math.min(...xs);
  let x1 = Math.max(...xs);
  if (x0 === x1) [x0, x1] = chart.xScale === "log" ? [x0 / 2, x1 * 2] : [x0 - 1, x1 + 1];
  const yTicks = zeroBasedTicks(Math.max(0, ...points.map((p) => p.y)));
  const y = linearScale([0, yTicks[yTicks.length - 1]], [area.bottom, area.top], yTicks);
  const range: [number, number] = [area.left + INSET, area.right - INSET];
  const x = chart.xScale === "log" ? logScale([x0, x1], range, []) : linearScale([x0, x1], range, []);
  const ticks = chart.xTicks ?? defaultTicks(chart.xScale, xs, x0, x1, x.at);
  const inside = ticks.filter((t) => t.value >= x0 && t.value <= x1).sort((a, b) => a.value - b.value);
  const every = Math.ceil(inside.length / Math.max(1, Math.floor((area.right - area.left) / 56)));
  const shown = inside.filter((_, i) => i % every === 0);
  const marks = lines.map((line) => {
    const sorted = [...line.points].sort((a, b) => a.x - b.x);
    const d = sorted.map((p, i) => `${i === 0 ? "M" : "L"}${px(x.at(p.x))} ${px(y.at(p.y))}`).join("");
    const dots = sorted.map((p) => {
      const cx = px(x.at(p.x));
      const cy = px(y.at(p.y));
      const ring = p.flagged ? html`<circle class="flag" cx="${cx}" cy="${cy}" r="7"><title>${p.label}</title></circle>` : "";
      return html`${ring}<circle class="point" cx="${cx}" cy="${cy}" r="3.5" fill="${line.color}"><title>${p.label}</title></circle>`;
    });
    return html`<g class="series"><path class="line" d="${d}" stroke="${line.color}"/>${dots}</g>`;
  });
  const xMarks = shown.map((t) => ({ at: x.at(t.value), label: t.label }));
  return shell.wrap(html`${yAxis(y, area, chart.yLabel)}${xAxis(xMarks, area, chart.xLabel)}${marks}`);
}
