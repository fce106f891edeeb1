// What the machine could not be provisioned with (build/provision.json, written by scripts/provision.mjs in the
// global setup): tests that need a step skip, with the reason printed once, instead of failing or waiting.
import { readFileSync } from "node:fs";

type StepResult = { ok: true; detail: string } | { ok: false; why: string };

let results: Record<string, StepResult> | undefined;
const said = new Set<string>();

/** Null when `step` provisioned fine; otherwise why not, in one line (printed once per test file). */
export function need(step: string): string | null {
  results ??= JSON.parse(readFileSync("build/provision.json", "utf8")) as Record<string, StepResult>;
  const r = results[step];
  if (r === undefined) throw new Error(`no provisioning step '${step}' in build/provision.json (scripts/provision.mjs)`);
  if (r.ok) return null;
  const line = `${step} unavailable: ${r.why}`;
  if (!said.has(step)) console.log(`skipping what needs ${line}`);
  said.add(step);
  return line;
}
