// How a median and its interval read in a table cell and in a tooltip.
import { duration } from "./format.js";
import { MIN_SAMPLES_FOR_CI, type MedianEstimate } from "./stats.js";
import { html } from "./html.js";
import { cell, type RichCell } from "./table.js";

/** "56.9–60.9 ns" (one unit when both ends share it). */
export function durationRange(lowNs: number, highNs: number): string {
  const low = duration(lowNs);
  const high = duration(highNs);
  const unit = (s: string) => s.slice(s.lastIndexOf(" ") + 1);
  return unit(low) === unit(high) ? `${low.slice(0, low.lastIndexOf(" "))}–${high}` : `${low} – ${high}`;
}

/** The interval's cell: "56.9–60.9 ns", or "n too small" with fewer than 3 samples (no interval is made up). */
export function intervalCell(e: MedianEstimate | undefined): RichCell | string {
  if (!e) return "—";
  if (!e.ci) return cell("n too small", "muted", `${e.n} sample${e.n === 1 ? "" : "s"}: an interval needs at least ${MIN_SAMPLES_FOR_CI}`);
  return cell(durationRange(e.ci.low, e.ci.high), undefined, `95% bootstrap interval of the median, ${e.n} samples`);
}

/** A tooltip: "ptr, wasm: 58.9 ns/event (95% CI 56.9–60.9 ns, n = 5)". */
export function describeEstimate(what: string, e: MedianEstimate, per = ""): string {
  const ci = e.ci ? `95% CI ${durationRange(e.ci.low, e.ci.high)}` : "n too small for an interval";
  return `${what}: ${duration(e.median)}${per} (${ci}, n = ${e.n})`;
}

/** The error bar of a chart: the interval when there is one. */
export function errorBar(e: MedianEstimate): { low?: number; high?: number } {
  return e.ci ? { low: e.ci.low, high: e.ci.high } : {};
}

/** The median with its interval (or "n too small") in small type under it; the tooltip says both. */
export function estimateCell(e: MedianEstimate | undefined, what: string, per = ""): RichCell | string {
  if (!e) return "—";
  const ci = e.ci ? durationRange(e.ci.low, e.ci.high) : "n too small";
  return cell(html`${duration(e.median)}<span class="ci">${ci}</span>`, undefined, describeEstimate(what, e, per));
}
