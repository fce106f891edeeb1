// What the real-mount tests need from the machine, and the mounts the recorders may leave behind.
import { accessSync, constants, readFileSync } from "node:fs";

/** Why FUSE mounts cannot be made here, or null. Missing tools are not a reason: scripts/install-fuse.sh installs them, and CI runs it. */
export function fuseProblem(): string | null {
  try {
    accessSync("/dev/fuse", constants.R_OK | constants.W_OK);
  } catch {
    return "/dev/fuse is missing or not accessible";
  }
  if (process.getuid?.() !== 0) return "not root";
  return null;
}

/**
 * Mounts still there under `dir`. Test files run in parallel, so each looks only under its own directory, where it
 * has the recorder put its scratch (TMPDIR=dir, or --keep).
 */
export function recorderMounts(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4] ?? "").filter((m) => m.startsWith(`${dir}/`));
}
