// The mounts the recorders may leave behind, and interrupting a recording. Whether mounts can be made at all is
// need("fuse") of ./provision.ts.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

/**
 * Mounts still there under `dir`. Test files run in parallel, so each looks only under its own directory, where it
 * has the recorder put its scratch (TMPDIR=dir, or --keep).
 */
export function recorderMounts(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4] ?? "").filter((m) => m.startsWith(`${dir}/`));
}

/**
 * Runs `fbreplay record ARGS -o OUT -- sleep 30` with its scratch under `scratch`, interrupts it (SIGINT) once its
 * mount is up there, and gives its exit status, its stderr and the mounts it had up when interrupted.
 */
export async function interruptRecording(args: string[], out: string, scratch: string): Promise<{ status: number | null; stderr: string; mountsBefore: number }> {
  const child = spawn(process.execPath, ["dist/cli/bin.js", "record", ...args, "-o", out, "--", "sleep", "30"],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TMPDIR: scratch } });
  let stderr = "";
  child.stderr.on("data", (d) => { stderr += d; });
  const deadline = Date.now() + 15_000;
  while (recorderMounts(scratch).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const mountsBefore = recorderMounts(scratch).length;
  child.kill("SIGINT");
  const status = await new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { status, stderr, mountsBefore };
}
