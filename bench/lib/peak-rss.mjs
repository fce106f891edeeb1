// Preloaded into a measured CLI process (node --import): its peak RSS (src/rss.ts: VmHWM, worker threads included)
// as the last line of stderr when it exits. No external tool (GNU time) needed.
import { peakRssBytes } from "../../dist/rss.js";

process.on("exit", () => process.stderr.write(`\n@@peak_rss_kb=${Math.round(peakRssBytes() / 1024)}\n`));
