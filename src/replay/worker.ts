// One unit of a parallel replay, in a worker thread: one trace under some of the policies (./parallel.ts).
import { parentPort, workerData } from "node:worker_threads";
import { openTrace } from "../trace/index.js";
import { TraceError } from "../trace/types.js";
import { replayTrace, type ReplayPlan } from "./drive.js";

export interface UnitData {
  path: string;
  plan: ReplayPlan;
  /** Int32Array over a SharedArrayBuffer: [0] becomes 1 when the replay is to stop at the next chunk. */
  stop: Int32Array;
}

export type UnitMessage =
  | { kind: "progress"; done: number }
  | { kind: "done"; report: Awaited<ReturnType<typeof replayTrace>> }
  | { kind: "error"; name: string; message: string; file?: string; where?: string };

const { path, plan, stop } = workerData as UnitData;
const post = (m: UnitMessage) => parentPort!.postMessage(m);
try {
  const trace = await openTrace(path, { reuseBuffers: true });
  const report = await replayTrace(trace, plan, {
    onProgress: (p) => post({ kind: "progress", done: p.done }),
    interrupted: () => Atomics.load(stop, 0) === 1,
  });
  post({ kind: "done", report });
} catch (err) {
  const e = err as Error;
  post(e instanceof TraceError ? { kind: "error", name: e.name, message: e.message, file: e.file, where: e.where } : { kind: "error", name: e.name, message: e.message });
}
