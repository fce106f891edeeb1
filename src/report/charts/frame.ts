// What every chart has: the <svg> with its title, the plot area, a y axis with grid lines, and a legend.
import { html, join, type Html } from "../html.js";
import { tick } from "../format.js";
import type { Scale } from "./scale.js";

export const WIDTH = 440;
export const HEIGHT = 280;

/** The plot area inside the svg, in pixels: x grows right, y grows down (top < bottom). */
export interface Area {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export interface LegendItem {
  name: string;
  color: string;
}

/** Rounds a pixel coordinate to 0.1 px to keep the markup short. */
export const px = (v: number): number => Math.round(v * 10) / 10;

const LEGEND_ROW = 16;
const legendWidth = (name: string) => 30 + name.length * 6.8;

/** Legend items laid out left to right from x = left, wrapping before `right`; returns the markup and its rows. */
function layoutLegend(items: readonly LegendItem[], left: number, right: number, y: number): { markup: Html; rows: number } {
  let x = left;
  let row = 0;
  const parts = items.map((item) => {
    if (x > left && x + legendWidth(item.name) > right) {
      x = left;
      row++;
    }
    const top = y + row * LEGEND_ROW;
    const part = html`<g class="legend-item"><rect x="${px(x)}" y="${px(top)}" width="10" height="10" fill="${item.color}"/><text x="${px(x + 14)}" y="${px(top + 9)}">${item.name}</text></g>`;
    x += legendWidth(item.name);
    return part;
  });
  return { markup: html`<g class="legend">${parts}</g>`, rows: items.length ? row + 1 : 0 };
}

export interface ChartShell {
  area: Area;
  /** Wraps the chart's body (axes and marks) in the <svg>, with title and legend. */
  wrap(body: Html): Html;
}

/**
 * The svg of a chart titled `title`, a legend under the title, and the plot area left for the caller.
 * `bottomSpace` is the room under the plot for x tick labels and the x axis label.
 */
export function chartShell(title: string, legendItems: readonly LegendItem[], options: { bottomSpace?: number; width?: number; height?: number } = {}): ChartShell {
  const width = options.width ?? WIDTH;
  const height = options.height ?? HEIGHT;
  const left = 62;
  const right = width - 14;
  const legend = layoutLegend(legendItems, left, right, 26);
  const top = 26 + legend.rows * LEGEND_ROW + 12;
  const area = { left, right, top, bottom: height - (options.bottomSpace ?? 44) };
  return {
    area,
    wrap: (body) => html`<svg class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${title}"><title>${title}</title><text class="chart-title" x="${left}" y="16">${title}</text>${legend.markup}${body}</svg>`,
  };
}

/** Horizontal grid lines and labels at the y scale's ticks, the axis line, and the axis label (rotated). */
export function yAxis(y: Scale, area: Area, label: string, format: (v: number) => string = tick): Html {
  const ticks = y.ticks.map((v) => {
    const at = px(y.at(v));
    return html`<line class="grid" x1="${area.left}" x2="${area.right}" y1="${at}" y2="${at}"/><text class="tick-y" x="${area.left - 6}" y="${px(at + 4)}">${format(v)}</text>`;
  });
  const mid = px((area.top + area.bottom) / 2);
  return html`<g class="axis y-axis">${ticks}<line class="axis-line" x1="${area.left}" x2="${area.left}" y1="${area.top}" y2="${area.bottom}"/><text class="axis-label" transform="translate(14 ${mid}) rotate(-90)">${label}</text></g>`;
}

/** The x axis line, tick marks and labels at given pixel positions, and the axis label. */
export function xAxis(ticks: readonly { at: number; label: string }[], area: Area, label: string, height: number = HEIGHT): Html {
  const marks = ticks.map((t) => {
    const at = px(t.at);
    return html`<line class="tick-mark" x1="${at}" x2="${at}" y1="${area.bottom}" y2="${area.bottom + 5}"/><text class="tick-x" x="${at}" y="${area.bottom + 18}">${t.label}</text>`;
  });
  return html`<g class="axis x-axis"><line class="axis-line" x1="${area.left}" x2="${area.right}" y1="${area.bottom}" y2="${area.bottom}"/>${join(marks)}<text class="axis-label" x="${px((area.left + area.right) / 2)}" y="${height - 8}">${label}</text></g>`;
}
