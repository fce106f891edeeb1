// Inputs the CLI target reads, made once per worker.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "./mutate.mjs";
import { brokenTraceBytes, validTraceBytes } from "./targets.mjs";

const ROOT = new URL("../../", import.meta.url).pathname;

export async function makeCliTraces(dir) {
  const rng = new Rng(7);
  const small = join(dir, "small.fbt");
  writeFileSync(small, validTraceBytes(rng));
  return { small, bad: brokenTraceBytes(rng), resultsText: readFileSync(join(ROOT, "test/fixtures/bench-quick.json"), "utf8") };
}
