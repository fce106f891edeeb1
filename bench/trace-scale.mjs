// Trace size and memory at several sizes: for each, synth N events to a file, replay it under every policy (plainly,
// then with injected restarts and re-downloads), and record bytes per event, wall time and peak RSS of each process.
// Usage: node bench/trace-scale.mjs [EVENTS ...]   (default: 10000000 100000000; needs `npm run build`)
// Writes bench/results/trace-scale.json. The memory suite of `npm run bench` measures the 100M row alone.
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { source } from "./lib/manifest.mjs";
import { traceAtScale } from "./lib/scale.mjs";

const sizes = process.argv.slice(2).map(Number);
if (sizes.length === 0) sizes.push(10_000_000, 100_000_000);
if (sizes.some((n) => !Number.isSafeInteger(n) || n < 1)) {
  console.error(`trace-scale: expected event counts >= 1, got ${process.argv.slice(2).join(" ")}`);
  process.exit(2);
}
const results = [];
for (const events of sizes) {
  const row = traceAtScale(events, (line) => process.stderr.write(`trace-scale: ${line}\n`));
  results.push(row);
  console.log(JSON.stringify(row));
}
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
const manifest = { ...source(), node: process.version, v8: process.versions.v8, cpu: cpus()[0]?.model, cores: cpus().length, jobs: availableParallelism(), date: new Date().toISOString() };
writeFileSync(new URL("./results/trace-scale.json", import.meta.url), `${JSON.stringify({ manifest, results }, null, 2)}\n`);
