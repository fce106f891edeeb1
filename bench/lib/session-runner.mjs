// Replays a dump (bench/c-core's format) on the wasm core or the TypeScript model, in a process of its own, as the
// C build does: the harness's heap and its garbage collector stay out of the timing. One session per policy, each
// timed alone after the collector has settled. Prints {"<policy>": {"ns", "outcomes"}} on stdout.
// Usage: node --expose-gc bench/lib/session-runner.mjs DUMP wasm|js SETTLE_MS POLICY...
import { ReferenceSession } from "../../dist/replay/reference.js";
import { WasmReplaySession } from "../../dist/replay/wasm.js";
import { readNativeDump } from "../c-core/index.mjs";
import { settle } from "./engines.mjs";

const [dump, engine, settleMs, ...policies] = process.argv.slice(2);
const { options, items } = readNativeDump(dump);
const out = {};
for (const policy of policies) {
  const sessionOptions = { policies: [policy], daemon: options.daemon, maxInodes: options.maxInodes, maxFiles: options.maxFiles, idMax: options.idMax };
  const session = engine === "wasm" ? new WasmReplaySession([], sessionOptions) : new ReferenceSession([], sessionOptions);
  // The backing table goes in before the clock starts, as the harness's sessions did: only the replay is timed.
  for (const item of items) if (item.backing) session.addBacking(item.backing);
  await settle(Number(settleMs));
  for (const item of items) if (item.chunk) session.feed(item.chunk);
  out[policy] = { ns: session.elapsedNs()[policy], outcomes: session.outcomes()[policy] };
}
process.stdout.write(`${JSON.stringify(out)}\n`);
