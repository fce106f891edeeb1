// What every ingest reports, and how it says the input is bad.
import type { DaemonStraceCounts } from "./daemon-strace.js";
import type { Counts } from "./counts.js";

/** What an ingest found (see Counts) and how many backing file versions the trace holds. */
export interface IngestSummary extends Counts {
  backingFiles: number;
  /** What the daemon strace held, when one was given. */
  daemonStrace?: DaemonStraceCounts;
}

/** Bad input: one line, `path:line: reason` or `path: reason`. */
export class IngestError extends Error {
  constructor(message: string) {
    super(message.replace(/\s+/g, " ").trim());
    this.name = "IngestError";
  }
}

