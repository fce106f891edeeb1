// The three engines on one workload: the wasm core, the TypeScript reference model, and the native C build of the
// core (bench/c-core). Each run replays the whole workload under the given policies and returns, per policy, the
// nanoseconds spent replaying and the outcome counters. runSession replays in this process (the e2e suite's
// in-memory rate); dumpEngines in processes of their own (the throughput suite).
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ReferenceSession } from "../../dist/replay/reference.js";
import { WasmReplaySession } from "../../dist/replay/wasm.js";
import { runNative, writeNativeDump } from "../c-core/index.mjs";

/** @typedef {{ns: number, outcomes: import("../../dist/engine.js").Outcomes}} PolicyRun */

/**
 * Before a timed replay: collect garbage and let V8's concurrent sweeping finish. Setting up a session over millions
 * of backing-file versions leaves the collector busy on the other core for a while, and on this 2-core machine that
 * made the same replay take 30 or 80 ns/event (the native engine runs in a process of its own, without a heap).
 * Needs node --expose-gc (npm run bench passes it); without it the replay is timed as it comes.
 */
export async function settle(ms) {
  if (typeof globalThis.gc !== "function") return;
  globalThis.gc();
  await sleep(ms);
}

/** Milliseconds to let the collector settle before each timed session: 300, or 100 for the quick run. */
export const SETTLE_MS = { full: 300, quick: 100 };

/** Replays `workload` on a session engine ("wasm" or "js"), one session per policy so each is timed alone. */
export async function runSession(engine, workload, policies, { daemon = "per-inode", settleMs = SETTLE_MS.full } = {}) {
  const out = {};
  for (const policy of policies) {
    const options = { policies: [policy], daemon, ...workload.limits };
    const session = engine === "wasm" ? new WasmReplaySession(workload.backing, options) : new ReferenceSession(workload.backing, options);
    await settle(settleMs);
    for (const chunk of workload.chunks) session.feed(chunk);
    out[policy] = { ns: session.elapsedNs()[policy], outcomes: session.outcomes()[policy] };
  }
  return out;
}

/**
 * The three engines on one dump of the workload (bench/c-core's format, written once), each replaying in a process
 * of its own: the C build one process per policy, the wasm core and the TypeScript model one process per run with
 * a session per policy. So no engine shares its process with the harness's heap and its collector, whose work on
 * the other core made the in-process wasm replay of the same events take 30 or 80 ns/event.
 */
export async function dumpEngines(native, workload, policies, dir, settleMs, daemon = "per-inode") {
  const dump = join(dir, `${workload.name}.${daemon}.dump`);
  await writeNativeDump(dump, { backing: workload.backing, columns: workload.chunks, policies, daemon, ...workload.limits });
  const inProcess = (engine) => async () => runJson(process.execPath, ["--expose-gc", RUNNER, dump, engine, String(settleMs), ...policies]);
  const engines = { wasm: inProcess("wasm"), js: inProcess("js") };
  if (!("skipped" in native)) {
    engines.native = async () => {
      const out = {};
      for (const p of policies) {
        const r = await runNative(native.path, dump, { only: p });
        out[p] = { ns: r.policies[p].ns, outcomes: r.outcomes[p] };
      }
      return out;
    };
  }
  return { engines, dispose: () => rmSync(dump, { force: true }) };
}

const RUNNER = new URL("session-runner.mjs", import.meta.url).pathname;

/** Runs node with `args`; resolves to its stdout as JSON, rejects with its stderr. */
function runJson(command, args) {
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${args.slice(1, 4).join(" ")}: ${stderr.trim() || err.message}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

/**
 * Throws unless every engine reported the same outcome counters for every policy: a benchmark of engines that
 * disagree measures nothing.
 */
export function assertSameOutcomes(label, runs) {
  const engines = Object.keys(runs);
  const [first, ...rest] = engines;
  for (const engine of rest) {
    for (const policy of Object.keys(runs[first])) {
      const a = runs[first][policy].outcomes;
      const b = runs[engine][policy].outcomes;
      const differ = Object.keys(a).filter((k) => a[k] !== b[k]);
      if (differ.length > 0) {
        const what = differ.slice(0, 4).map((k) => `${k} ${a[k]} vs ${b[k]}`).join(", ");
        throw new Error(`${label}: ${first} and ${engine} disagree under ${policy}: ${what}`);
      }
    }
  }
}
