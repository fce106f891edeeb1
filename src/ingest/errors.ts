// What every ingest reports, and how it says the input is bad.
import type { DaemonStraceCounts } from "./daemon-strace.js";
import type { Counts } from "./counts.js";

/** What an ingest found (see Counts) and how many backing file versions the trace holds. */
export interface IngestSummary extends Counts {
  backingFiles: number;
  /** What the daemon strace held, when one was given. */
  daemonStrace?: DaemonStraceCounts;
  /**
   * A daemon strace without /dev/fuse traffic: opens given the id of a BACKING_OPEN ioctl by order, for certain or
   * not (ioctl-order.ts); `undecided` says why none was given.
   */
  idsByOrder?: { certain: number; ambiguous: number; undecided?: string };
}

/** Bad input: one line, `path:line: reason` or `path: reason`. */
export class IngestError extends Error {
  constructor(message: string) {
    super(message.replace(/\s+/g, " ").trim());
    this.name = "IngestError";
  }
}

