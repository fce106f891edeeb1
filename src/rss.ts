// The process's peak resident set size, worker threads included. Not getrusage's ru_maxrss: Linux carries a parent's
// high-water mark into a child across fork and exec, so a CLI spawned by a large process (a benchmark runner, a
// test runner) reported its parent's peak (686 MB for a replay that took 223). VmHWM belongs to the address space
// that exec made.
import { readFileSync } from "node:fs";

/** Peak RSS in bytes: VmHWM of /proc/self/status, or ru_maxrss where there is no /proc. */
export function peakRssBytes(): number {
  try {
    const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (kb !== null) return Number(kb[1]) * 1024;
  } catch {
    // no procfs: below
  }
  return process.resourceUsage().maxRSS * 1024;
}
