// The three engines on one in-memory workload: the wasm core, the TypeScript reference model, and the native C
// build of the core (bench/native). Each run replays the whole workload under the given policies and returns, per
// policy, the nanoseconds spent replaying and the outcome counters.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ReferenceSession } from "../../dist/replay/reference.js";
import { WasmReplaySession } from "../../dist/replay/wasm.js";
import { runNative, writeNativeDump } from "../native/index.mjs";

/** @typedef {{ns: number, outcomes: import("../../dist/replay/types.js").Outcomes}} PolicyRun */

/**
 * Before a timed replay: collect garbage and let V8's concurrent sweeping finish. Setting up a session over millions
 * of backing-file versions leaves the collector busy on the other core for a while, and on this 2-core machine that
 * made the same replay take 30 or 80 ns/event (the native engine runs in a process of its own, without a heap).
 * Needs node --expose-gc (npm run bench passes it); without it the replay is timed as it comes.
 */
async function settle(ms) {
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

/** The native engine reads a dump of the workload; written once per workload and deleted with `dispose`. */
export async function nativeRunner(native, workload, policies, dir, daemon = "per-inode") {
  const dump = join(dir, `${workload.name}.${daemon}.dump`);
  await writeNativeDump(dump, { backing: workload.backing, columns: workload.chunks, policies, daemon, ...workload.limits });
  return {
    /** One process per policy, each replaying alone: the same terms as the wasm and JS sessions. */
    async run() {
      const out = {};
      for (const p of policies) {
        const r = await runNative(native.path, dump, { only: p });
        out[p] = { ns: r.policies[p].ns, outcomes: r.outcomes[p] };
      }
      return out;
    },
    dispose: () => rmSync(dump, { force: true }),
  };
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
