// What both recorders share: the scratch directories, and the workload, run in a process group of its own inside
// the mount so that Ctrl-C (or SIGTERM) ends the workload and everything it started, never the recorder, which
// must still take the mount down.
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export class RecordError extends Error {}

/** workDir (a fresh temp dir by default) with src/ (a copy of `src`, or empty) and an empty mnt/. */
export function prepareScratch(src: string | undefined, workDir?: string): { workDir: string; sourceDir: string; mountPoint: string } {
  // Absolute: the mount point is looked up in /proc/self/mountinfo, which has only absolute paths.
  const dir = resolve(workDir ?? mkdtempSync(join(tmpdir(), "fbreplay-record-")));
  const sourceDir = join(dir, "src");
  const mountPoint = join(dir, "mnt");
  rmSync(sourceDir, { recursive: true, force: true });
  if (src !== undefined) cpSync(src, sourceDir, { recursive: true, preserveTimestamps: true });
  else mkdirSync(sourceDir, { recursive: true });
  mkdirSync(mountPoint, { recursive: true });
  return { workDir: dir, sourceDir, mountPoint };
}

/**
 * Catches SIGINT and SIGTERM from construction to dispose(): an interrupt ends the workload's process group (if it
 * runs) and is remembered in `interrupted`. Construct it before anything that must be undone.
 */
export class Workload {
  interrupted = false;
  private child: ChildProcess | undefined;
  private readonly interrupt = () => {
    this.interrupted = true;
    if (this.child?.pid !== undefined) {
      try {
        process.kill(-this.child.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
  };

  constructor() {
    process.on("SIGINT", this.interrupt);
    process.on("SIGTERM", this.interrupt);
  }

  /**
   * Runs argv in `cwd` and resolves to its exit status (128 when a signal ended it). `name` is for the error. An
   * interrupt that came before (while the mount came up) means the workload does not start at all.
   */
  run(argv: readonly string[], cwd: string, name = argv[0]): Promise<number> {
    if (this.interrupted) return Promise.resolve(128 + 2);
    const child = spawn(argv[0], argv.slice(1), { cwd, stdio: ["ignore", "inherit", "inherit"], detached: true });
    this.child = child;
    return new Promise<number>((resolve, reject) => {
      child.on("error", (e) => reject(new RecordError(`cannot run ${name}: ${e.message}`)));
      child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
  }

  dispose(): void {
    process.off("SIGINT", this.interrupt);
    process.off("SIGTERM", this.interrupt);
  }
}
