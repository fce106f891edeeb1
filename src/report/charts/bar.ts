// Grouped bar chart with error bars: one group per category (a policy), one bar per series (an engine) in it.
import { html, type Html } from "../html.js";
import { chartShell, px, xAxis, yAxis, type LegendItem } from "./frame.js";
import { linearScale, zeroBasedTicks } from "./scale.js";

export interface Bar {
  value: number;
  /** The error bar (e.g. a 95% interval); none when absent. */
  low?: number;
  high?: number;
  /** The tooltip. */
  label: string;
}

export interface BarGroup {
  name: string;
  /** One per series, in the series' order; null where the series has no value. */
  bars: (Bar | null)[];
}

export interface BarChart {
  title: string;
  /** The y axis label, with its unit. */
  yLabel: string;
  xLabel: string;
  series: LegendItem[];
  groups: BarGroup[];
}

export function barChart(chart: BarChart): Html {
  const shell = chartShell(chart.title, chart.series);
  const { area } = shell;
  const bars = chart.groups.flatMap((g) => g.bars.filter((b): b is Bar => b !== null));
  const max = Math.max(0, ...bars.map((b) => Math.max(b.value, b.high ?? 0)));
  const ticks = zeroBasedTicks(max);
  const scaleY = linearScale([0, ticks[ticks.length - 1]], [area.bottom, area.top], ticks);
  const band = (area.right - area.left) / Math.max(1, chart.groups.length);
  const barWidth = (band * 0.78) / Math.max(1, chart.series.length);
  const marks: Html[] = [];
  chart.groups.forEach((group, gi) => {
    const start = area.left + gi * band + band * 0.11;
    group.bars.forEach((bar, si) => {
      const x = start + si * barWidth;
      if (!bar) {
        marks.push(html`<text class="na" x="${px(x + barWidth / 2)}" y="${area.bottom - 4}">n/a</text>`);
        return;
      }
      const top = scaleY.at(bar.value);
      marks.push(html`<rect class="bar" x="${px(x + 1)}" y="${px(top)}" width="${px(barWidth - 2)}" height="${px(area.bottom - top)}" fill="${chart.series[si].color}"><title>${bar.label}</title></rect>`);
      if (bar.low !== undefined && bar.high !== undefined) {
        const cx = px(x + barWidth / 2);
        const y0 = px(scaleY.at(bar.low));
        const y1 = px(scaleY.at(bar.high));
        const cap = Math.min(4, barWidth / 3);
        marks.push(html`<path class="err" d="M${cx} ${y0}V${y1}M${px(cx - cap)} ${y0}H${px(cx + cap)}M${px(cx - cap)} ${y1}H${px(cx + cap)}"><title>${bar.label}</title></path>`);
      }
    });
  });
  const xTicks = chart.groups.map((g, gi) => ({ at: area.left + (gi + 0.5) * band, label: g.name }));
  return shell.wrap(html`${yAxis(scaleY, area, chart.yLabel)}${marks}${xAxis(xTicks, area, chart.xLabel)}`);
}
