// Types of run.mjs for the test that runs a slice of the fuzz suite (test/fuzz.test.ts).
export interface FuzzDefect { target: string; index: number; kind: string; detail?: string; argv?: string[] }
export interface FuzzResult { target: string; inputs: number; ok: number; clean: number; defect: number; defects: FuzzDefect[]; seconds: number;
  /** "<kind of input> <class>" → inputs (the kind: a trace's mutation, a log's fixture, a CLI command…). */
  shapes: Record<string, number> }
export const ALL_TARGETS: string[];
/** interruptMs: when the CLI target's Ctrl-C comes (default 3 s); seconds: stop taking inputs after this long. */
export function fuzzTarget(target: string, options: { seed: number; count: number; jobs: number; interruptMs?: number; seconds?: number }): Promise<FuzzResult>;
export function spawnSample(options: { seed: number; count: number }): Promise<FuzzResult & { peak_rss_mb: number }>;
export function formatSummary(results: FuzzResult[], seed: number): string;
