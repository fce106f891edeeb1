// The trace stage's data: what a .fbt file holds once decoded. See traces/FORMAT.md for the bytes.
import type { BackingFile, EventColumns } from "../events.js";
import type { ColumnName, RecordedColumnName } from "./format.js";
import type { RowLimits } from "./checks.js";
import type { BackingColumns } from "./backing.js";

export const TRACE_FORMAT = "fbreplay-trace";
/** The version writers write: 2 stores the backing table as columns (traces/FORMAT.md, "Versioning"). */
export const TRACE_VERSION = 2;
/** The versions readers read: 1 (the backing table as a msgpack map per file) and 2. */
export const TRACE_READ_VERSIONS: readonly number[] = [1, 2];

/** verdict column values: what the kernel did with an OPEN the daemon answered. */
export const VERDICT_UNKNOWN = 0;
export const VERDICT_ACCEPTED = 1;
/** The kernel refused the daemon's reply: the user saw EIO, the daemon got the open's RELEASE at once. */
export const VERDICT_REFUSED = 2;
export const VERDICT_MAX = VERDICT_REFUSED;

export interface TraceHeader {
  format: typeof TRACE_FORMAT;
  version: number;
  /** Where the events came from: {"format": "synth" | "libfuse-debug" | "strace" | ..., ...details}. */
  source: { format: string; [key: string]: unknown };
  /** What ran, in words (a command line, a synth parameter summary). */
  workload: string;
  recorder: { name: string; version: string };
  /** `uname -r` of the host that recorded it ("" when not known). */
  host_kernel: string;
  /** ISO 8601 creation time. */
  created: string;
}

/** A backing file version as stored in a trace: bref = its index in the trace's backing table. */
export interface TraceBackingFile extends BackingFile {
  size: number;
  path: string;
}

/**
 * One chunk of events. Besides the columns the core replays, `pid` (the opener) and `dt` (microseconds since the
 * previous event of the trace; 0 for the first) are kept for inspection and time ordering.
 */
export interface TraceChunk extends EventColumns {
  pid: Uint32Array;
  dt: Uint32Array;
  /** The kernel's verdict on each OPEN row of a passthrough capture (VERDICT_*); absent: unknown. */
  verdict?: Uint8Array;
  /** Microseconds from the trace's start to this chunk's first event. */
  t0: number;
  /**
   * Set by the reader when every column went to the ChunkSink's slot of that number (ItemsOptions.sink): the
   * columns above are views of the sink's memory, valid until the sink's memory grows or the next item is asked for.
   */
  slot?: number;
}

/**
 * Memory a consumer wants a chunk's columns read into, so that they land there from the file with no copy and no
 * JS loop over the rows: the replay core's (src/replay/sink.ts). The reader asks for a slot at a chunk's first
 * column; a slot is handed out again only after the consumer has asked for the item after its chunk.
 */
export interface ChunkSink {
  /** A slot for a chunk of `rows` rows, or -1: the reader then reads it into buffers of its own. */
  reserve(rows: number): number;
  /**
   * The bytes of column `name` of the chunk in `slot` (`rows` elements): a fresh view at each call, since memory
   * that grows leaves the views made before empty.
   */
  column(slot: number, name: ColumnName | RecordedColumnName, rows: number): Uint8Array;
  /**
   * The row checks of scanChunk (src/trace/checks.ts) where the rows are: the first bad row or -1, the largest
   * nodeid and fh before it, and dt[1] + … + dt[rows-1]. The reader words a bad row's reason with scanChunk.
   */
  scan(slot: number, rows: number, recorded: { bid: boolean; verdict: boolean }, limits: RowLimits): SinkScan;
}

export interface SinkScan {
  badRow: number;
  maxNodeid: number;
  maxFh: number;
  elapsed: number;
}

export interface ItemsOptions {
  /** Where chunks' columns go; default: buffers of the reader's own. */
  sink?: ChunkSink;
}

/** Written last; a reader checks it against what it decoded. */
export interface TraceFooter {
  events: number;
  chunks: number;
  backing_files: number;
  /** Largest nodeid and fh in the events, -1 when there are none: sizes the replay's tables. */
  max_nodeid: number;
  max_fh: number;
  /** Microseconds from the first event to the last. */
  duration_us: number;
  /** CRC-32 of each chunk's column bytes, in chunk order. */
  chunk_crc32: number[];
  /**
   * Optional, known only once every event is written: releases an ingest paired with one of several open files
   * (a log without fh), by the kernel's behaviour rather than certainty. Absent: the source did not say (older
   * traces, sources with an fh in every release).
   */
  ambiguous_releases?: number;
  /**
   * Optional, like ambiguous_releases: opens given a backing id by order (a daemon strace without /dev/fuse
   * traffic) where several opens were in flight at once and the order could not tell them apart.
   */
  ambiguous_ids?: number;
}

/**
 * What a reader yields after the header, in file order. A version 2 backing extension also has its `columns`
 * (./backing.ts), and then makes `files` only when it is first read.
 */
export type TraceItem =
  | { kind: "backing"; first: number; files: TraceBackingFile[]; columns?: BackingColumns }
  | { kind: "chunk"; index: number; chunk: TraceChunk };

/** Bad input: one line naming the file and where. */
export class TraceError extends Error {
  constructor(readonly file: string, readonly where: string, reason: string) {
    super(`${file}: ${where}: ${reason}`);
    this.name = "TraceError";
  }
}
