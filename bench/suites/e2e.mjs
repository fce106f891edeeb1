// End to end: from a trace file in the page cache to results (read, check, decode, copy into wasm memory, replay),
// against replaying the same events already in memory. Shows whether the format is the bottleneck.
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { crc32 } from "node:zlib";
import { passCount, replayTrace } from "../../dist/replay/drive.js";
import { openTrace } from "../../dist/trace/index.js";
import { SETTLE_MS, runSession } from "../lib/engines.mjs";
import { median, round } from "../lib/stats.mjs";
import { synthTraceFile, traceWorkload } from "../lib/workload.mjs";

const POLICY_SETS = [["ptr"], ["inode"], ["digest"], ["ptr", "inode", "digest", "reuse", "lookup"]];

export async function e2eSuite({ quick, log, reps = quick ? 1 : 5 }) {
  const events = quick ? 1_000_000 : 10_000_000;
  log(`e2e: writing a ${events}-event synthetic trace`);
  const { file, dispose } = synthTraceFile(events, "e2e");
  try {
    const workload = await traceWorkload(file, { scale: 1 });
    // The floor of any replay from the file: reading its bytes from the page cache and their CRC-32, nothing else.
    const floor = [];
    for (let rep = 0; rep < reps; rep++) floor.push(readAndCrc(file));
    const floorNs = median(floor.map((f) => f.read + f.crc));
    const rows = [];
    for (const policies of POLICY_SETS) {
      const fromFile = [];
      const inMemory = [];
      for (let rep = 0; rep < reps; rep++) {
        log(`e2e: ${policies.join(",")}, rep ${rep + 1}/${reps}`);
        const t0 = process.hrtime.bigint();
        const reader = await openTrace(file, { reuseBuffers: true }); // as the CLI replay reads
        const report = await replayTrace(reader, { engine: "wasm", policies, daemon: "per-inode", scale: 1 });
        fromFile.push(Number(process.hrtime.bigint() - t0));
        if (!report.complete || report.events !== events) throw new Error(`e2e: replayed ${report.events} of ${events} events`);
        const runs = await runSession("wasm", workload, policies, { settleMs: quick ? SETTLE_MS.quick : SETTLE_MS.full });
        inMemory.push(policies.reduce((sum, p) => sum + runs[p].ns, 0));
      }
      const e2e = median(fromFile);
      const mem = median(inMemory);
      const passes = passCount(events, policies.length);
      rows.push({
        policies,
        e2e_events_per_s: Math.round((events * policies.length) / (e2e / 1e9)),
        in_memory_events_per_s: Math.round((events * policies.length) / (mem / 1e9)),
        e2e_vs_in_memory: round(mem / e2e, 3),
        bound_read_and_crc: round(mem / (mem + passes * floorNs), 3),
        samples_ns: { e2e: fromFile, in_memory: inMemory },
      });
    }
    const bytes = statSync(file).size;
    return {
      trace: `synth --events ${events} --seed 1`, events, bytes,
      read_ns_per_event: round(median(floor.map((f) => f.read)) / events, 2),
      crc32_ns_per_event: round(median(floor.map((f) => f.crc)) / events, 2),
      rows,
    };
  } finally {
    dispose();
  }
}

/** Reads the file from the page cache in 4 MiB blocks, then takes the CRC-32 of each (node's zlib.crc32): ns each. */
function readAndCrc(file) {
  const block = Buffer.allocUnsafe(4 << 20);
  const fd = openSync(file, "r");
  let read = 0n;
  let crc = 0n;
  try {
    for (let at = 0; ; ) {
      const t0 = process.hrtime.bigint();
      const n = readSync(fd, block, 0, block.length, at);
      const t1 = process.hrtime.bigint();
      if (n === 0) break;
      crc32(block.subarray(0, n));
      crc += process.hrtime.bigint() - t1;
      read += t1 - t0;
      at += n;
    }
  } finally {
    closeSync(fd);
  }
  return { read: Number(read), crc: Number(crc) };
}
