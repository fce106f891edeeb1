// Preloaded into a measured CLI process (node --import): its peak RSS, worker threads included, as the last line of
// stderr when it exits. No external tool (GNU time) needed, and the figure is the kernel's own maxrss.
process.on("exit", () => process.stderr.write(`\n@@peak_rss_kb=${process.resourceUsage().maxRSS}\n`));
