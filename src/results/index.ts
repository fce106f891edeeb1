// Benchmark results: their schema (defined once), reading them, and deriving their tool-facing sections.
export * from "./schema.js";
export { ResultsError, parseHistory, parseResults } from "./parse.js";
export { benchmarksOf, outcomesOf } from "./derive.js";
