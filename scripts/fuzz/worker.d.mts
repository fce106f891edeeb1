// Types of worker.mjs for test/fuzz.test.ts.
import type { CliRun } from "./cli.mjs";
export function inputSeed(seed: number, target: string, i: number): number;
export function classifyCli(r: CliRun, left: string[]): { cls: "ok" | "clean" | "defect"; kind: string; detail?: string };
