// `fbreplay report`: one self-contained HTML page of benchmark results (tables, inline SVG charts, no scripts,
// no external resources).
import { reportContext } from "./context.js";
import { page } from "./page.js";
import { checksSection } from "./sections/checks.js";
import { contentionSection } from "./sections/contention.js";
import { e2eSection } from "./sections/e2e.js";
import { manifestSection } from "./sections/manifest.js";
import { outcomesSection } from "./sections/outcomes.js";
import { scenariosSection } from "./sections/scenarios.js";
import { scalingSection } from "./sections/scaling.js";
import { throughputSection } from "./sections/throughput.js";
import { trendSection } from "./sections/trend.js";
import type { ReportInput } from "./types.js";

export type * from "./types.js";
export { HISTORY_SCHEMA, RESULTS_SCHEMA } from "./types.js";
export { parseHistory, parseResults, readReportInput } from "./load.js";
export { ResultsError } from "../results/index.js";

/** The report as one HTML document. The sections describe the newest results (the last of `input.results`). */
export function renderReport(input: ReportInput): string {
  const ctx = reportContext(input);
  const sections = [
    scenariosSection(input.scenarios),
    outcomesSection(ctx),
    throughputSection(ctx),
    checksSection(ctx),
    scalingSection(ctx),
    contentionSection(ctx),
    e2eSection(ctx),
    trendSection(ctx),
    manifestSection(ctx),
  ];
  return page(ctx, sections, input.generatedAt ?? new Date().toISOString());
}
