// The kernel capture (src/capture) around a recorder's workload, where the kernel allows it: the daemon's requests
// and replies paired by the kernel's own `unique`, each open's backing id as the kernel received it, and each open's
// verdict from the opener's syscall return. Where it is not available (not root, no BTF, BPF refused, the loader
// not built), the recorder's own path (debug log + strace) stands, and why is said.
import { dirname, resolve } from "node:path";
import { CaptureError, capture, checkCapture, type KernelCapture } from "../capture/index.js";

export interface KernelWatch {
  /** For record()'s `around`: the workload under the capture, or alone when the capture cannot run. */
  around: (mountPoint: string, run: () => Promise<number>) => Promise<number>;
  /** The capture, once the workload ran under it to the end; null when it did not. */
  result: KernelCapture | null;
  /** Why there is no capture (one line), or null. */
  why: string | null;
}

/** records.bin goes into the recorder's scratch directory (beside mnt/): kept with it under --keep, removed with it. */
export function kernelWatch(): KernelWatch {
  const watch: KernelWatch = {
    result: null, why: null,
    async around(mountPoint, run) {
      try {
        checkCapture(mountPoint);
      } catch (e) {
        if (!(e instanceof CaptureError)) throw e;
        watch.why = e.message;
        return run();
      }
      let ran = false;
      let status = -1;
      try {
        watch.result = await capture({ mount: resolve(mountPoint), workDir: dirname(resolve(mountPoint)), during: async () => { ran = true; status = await run(); return status; } });
        return watch.result.exitCode;
      } catch (e) {
        if (!(e instanceof CaptureError)) throw e;
        watch.why = e.message;
        // The loader failed to attach: the workload has not run yet. It failed later: the workload's status stands.
        return ran ? status : run();
      }
    },
  };
  return watch;
}
