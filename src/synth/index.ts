// Synthetic FUSE workloads: a seeded, deterministic stream of OPEN / RELEASE / FORGET events over a Zipf-popular
// set of files, in trace chunks, with the backing-file table growing as files are replaced or re-downloaded.
//
// What the stream guarantees (the reference model replays it with zero anomalies):
// - every OPEN takes a free fh slot < maxOpenFiles and names a nodeid < synthLimits().maxInodes;
// - every RELEASE releases an open fh; a FORGET names a looked-up nodeid with no open file, and that nodeid is
//   later given to another file; no RESTART (restarts are injected at replay time);
// - a `backing` item precedes the first chunk naming any bref in it; the first item is the initial table;
// - exactly `events` rows, the last ones closing whatever is still open, so a trace ends with no file open.
// A trace of one event is a bare LOOKUP, the only valid single event that leaves nothing open.
import { emptyColumns } from "../events.js";
import { chunkFromColumns } from "../trace/index.js";
import type { TraceBackingFile, TraceChunk } from "../trace/types.js";
import { resolveSynthOptions, validateSynthOptions, type SynthOptions } from "./options.js";
import { SPARE_NODEIDS, Workload } from "./workload.js";

export { SYNTH_DEFAULTS, SYNTH_LIMITS, resolveSynthOptions, validateSynthOptions, type ResolvedSynthOptions, type SynthOptions } from "./options.js";
export { BACKING_DEV, contentDigest, filePath } from "./content.js";
export { INO_BASE, PID_BASE } from "./workload.js";

/** One item of the stream: exactly one of the two is set. */
export interface SynthItem {
  /** Backing versions appended to the table, in bref order (the first item: bref 0 … inodes-1, file f at bref f). */
  backing?: TraceBackingFile[];
  /** Freshly allocated columns, owned by the consumer: the generator never touches a chunk again. */
  chunk?: TraceChunk;
}

/**
 * The workload as a lazy stream. Throws a RangeError (the validateSynthOptions line) for bad options. State is
 * O(inodes + maxOpenFiles); each chunk is allocated when it is generated, so memory does not grow with `events`.
 */
export function synth(options: SynthOptions): Generator<SynthItem> {
  const problem = validateSynthOptions(options);
  if (problem !== null) throw new RangeError(problem);
  return generate(resolveSynthOptions(options));
}

function* generate(o: ReturnType<typeof resolveSynthOptions>): Generator<SynthItem> {
  const workload = new Workload(o);
  yield { backing: workload.initialBacking() };
  for (let done = 0; done < o.events;) {
    const chunk = emptyChunk(Math.min(o.chunkRows, o.events - done));
    workload.fill(chunk, o.events - done);
    done += chunk.length;
    const fresh = workload.takeNewBacking();
    if (fresh.length > 0) yield { backing: fresh };
    yield { chunk };
  }
}

/** Table sizes a replay of this workload needs: nodeids are < maxInodes and fhs < maxFiles. */
export function synthLimits(options: SynthOptions): { maxInodes: number; maxFiles: number } {
  const o = resolveSynthOptions(options);
  return { maxInodes: o.inodes + SPARE_NODEIDS, maxFiles: o.maxOpenFiles };
}

/** The options in words, every knob with its resolved value: for a trace header's `workload`. */
export function describeSynth(options: SynthOptions): string {
  const o = resolveSynthOptions(options);
  return "synth " + Object.entries(o).map(([k, v]) => `${k}=${v}`).join(" ");
}

function emptyChunk(length: number): TraceChunk {
  return chunkFromColumns(emptyColumns(length));
}
