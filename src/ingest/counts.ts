// What one pass of the log → events machine found: the counts an ingest reports and writes into the trace.
/** What one pass over a log found. */
export interface Counts {
  lines: number;
  malformed: number;
  firstMalformed?: { line: number; text: string; reason: string };
  /** Request headers (libfuse) or system calls (strace) in the log. */
  requests: number;
  /** Successful OPEN and CREATE replies (or opens): OP_OPEN events. */
  opens: number;
  /** strace of a workload: successful opens that send the daemon no OPEN/CREATE (O_PATH; directories: OPENDIR). */
  opathOpens?: number;
  directoryOpens?: number;
  /** RELEASEs matched to an open: OP_RELEASE events (besides the openAtEnd ones). */
  releases: number;
  failedOpens: number;
  /** Inode instances ended with an OP_FORGET (only instances the trace opened are named). */
  forgets: number;
  events: number;
  /** RELEASEs of an fh (or nodeid) with no successful open: not emitted. */
  unmatchedReleases: number;
  /**
   * Low-level logs (no fh): RELEASEs that more than one open file of the nodeid could be, by what the kernel does;
   * paired as OpenFiles.releasedFile says.
   */
  ambiguousReleases?: number;
  /**
   * Low-level logs: files released at their close (an answered FLUSH) rather than at their RELEASE line, because
   * an open of the same inode came in between (spec §b.8: the kernel drops a file at its final fput and sends
   * RELEASE later). Right unless another descriptor (a dup, a fork) still held the file: not certain, counted.
   */
  releasedAtClose?: number;
  /**
   * passthrough_hp DEBUG lines other daemon threads wrote into (parse.ts), and the opens whose id the log does not
   * tell for certain: lost in such a line, or printed while several opens of the inode were in flight (lost-ids.ts).
   */
  garbledLines?: number;
  guessedIds?: number;
  /** Files open when the log ends: an OP_RELEASE was appended for each. */
  openAtEnd: number;
  /** Opens whose reply's backing id the capture shows (passthrough_hp lines or the daemon's strace). */
  recordedOpens: number;
  /** The daemon's FUSE_DEV_IOC_BACKING_OPEN / _CLOSE calls in the trace (BACKING_OPEN / BACKING_CLOSE rows). */
  backingOpens: number;
  backingCloses: number;
  /** BACKING_CLOSE calls whose id neither the log nor the strace shows: not in the trace. */
  unknownBackingCloses: number;
  /** Successful OPEN/CREATE requests the daemon's strace does not show (with a daemon strace only). */
  notInDaemonStrace: number;
}

/** The backing-id counts of a capture that shows none. */
export const NO_BACKING_IDS = { recordedOpens: 0, backingOpens: 0, backingCloses: 0, unknownBackingCloses: 0, notInDaemonStrace: 0 } as const;
