// Replay memory at scale: peak RSS of the CLI replaying a 100M-event synthetic trace (1M with --quick) under every
// policy with the default --jobs, plainly and with injection (summary.peak_rss_mb; targets in bench/README.md).
import { DEFAULT_JOBS } from "../../dist/replay/index.js";
import { traceAtScale } from "../lib/scale.mjs";

export function memorySuite({ quick, log }) {
  const events = quick ? 1_000_000 : 100_000_000;
  const row = traceAtScale(events, (line) => log(`memory: ${line}`));
  return { jobs: DEFAULT_JOBS, ...row };
}
