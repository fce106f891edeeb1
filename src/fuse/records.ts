// What the daemon records: one plain object per event, in the order the daemon saw or did it. These are the
// daemon's side of each exchange: an open record says which backing id the daemon answered with; whether the
// kernel accepted it shows in what follows (a refused passthrough open is released at once: its RELEASE record
// comes right after the open's, with no I/O in between).
import { closeSync, openSync, writeSync } from "node:fs";

export type DaemonRecordOp =
  | "lookup" | "forget" | "open" | "create" | "release" | "unlink" | "rename" | "restart" | "backing_open" | "backing_close"
  /** A scenario action the daemon did to a backing file (actions.ts), named by `via`; dev/ino: the file after. */
  | "action"
  /** A kernel-side capture only: the syscall that sent OPEN/CREATE `unique` returned `error` to the opener. */
  | "verdict";

export interface DaemonRecord {
  /** 0, 1, 2, … in the order of events. */
  seq: number;
  op: DaemonRecordOp;
  /** The FUSE request's unique (0 for events the daemon started itself: restart, and backing ids closed by it). */
  unique: number;
  /**
   * The inode the event is about: lookup → the nodeid answered (0 on error); forget → the nodeid forgotten;
   * open/create/release → the file's; unlink/rename → the unlinked or moved inode's (0 when the daemon never
   * handed it out); backing_open/backing_close → the inode the id was registered for.
   */
  nodeid: number;
  /** open/create/release: the file handle (0 otherwise, and on a failed open). */
  fh: number;
  /** The requesting process (0 for events the daemon started). */
  pid: number;
  /** open/create/release: the opener's open(2) flags as the kernel sent them. */
  flags: number;
  /** open/create: the reply's FOPEN_* flags (FOPEN_PASSTHROUGH = 0x80). */
  fopen: number;
  /** open/create/release/backing_open/backing_close: the backing id (0: none, not passthrough). */
  backing_id: number;
  /** st_dev and st_ino of the backing file (lookup, open, create, unlink, rename, backing_open); 0 when unknown. */
  dev: number;
  ino: number;
  /** open/create: sha256 (hex) of the backing file's bytes as the open left them (after O_TRUNC); "" otherwise. */
  sha256: string;
  /** lookup/create/unlink/rename: the entry's name; "" otherwise. */
  name: string;
  /** The backing path relative to the source directory ("" when not relevant or unknown). */
  path: string;
  /** 0 on success, else the negative errno of the reply (or of the ioctl, for backing_open/backing_close). */
  error: number;
  /** Nanoseconds since the daemon started. */
  t_ns: number;
  /** Daemon restarts before this event: the backing ids a record names belong to this epoch's daemon. */
  epoch: number;
  /** lookup/unlink/rename: the parent directory's nodeid; rename: the old one. */
  parent?: number;
  /** rename: the new parent, name and path; the RENAME2 flags. */
  new_parent?: number;
  new_name?: string;
  new_path?: string;
  rename_flags?: number;
  /** forget: how many lookups the kernel dropped. */
  nlookup?: number;
  /** The request when the op does not name it: lookup via "MKDIR", "SYMLINK", "LINK", "MKNOD"; unlink via "RMDIR". */
  via?: string;
  /**
   * release: whether a FLUSH came for the fh first. Unflushed means no process ever had the file as a descriptor:
   * the kernel refused the open after the daemon's reply (spec §b.3), which is how the daemon learns the verdict.
   */
  flushed?: boolean;
  /** restart: whether the restart closed the old daemon's backing ids first. */
  close_ids?: boolean;
}

/** The fields an event names; the rest default to 0 / "". */
export type RecordFields = Partial<Omit<DaemonRecord, "seq" | "t_ns" | "epoch">> & { op: DaemonRecordOp };

/** Numbers events, stamps them and hands them to the sinks. */
export class Recorder {
  private seq = 0;
  private readonly t0 = process.hrtime.bigint();
  private readonly jsonlFd: number | null;
  epoch = 0;

  constructor(private readonly onRecord: (r: DaemonRecord) => void, jsonlPath?: string) {
    this.jsonlFd = jsonlPath === undefined ? null : openSync(jsonlPath, "w");
  }

  emit(f: RecordFields): DaemonRecord {
    const { op, ...named } = f;
    const r: DaemonRecord = {
      seq: this.seq++, op, unique: 0, nodeid: 0, fh: 0, pid: 0, flags: 0, fopen: 0, backing_id: 0, dev: 0,
      ino: 0, sha256: "", name: "", path: "", error: 0, ...named,
      t_ns: Number(process.hrtime.bigint() - this.t0), epoch: this.epoch,
    };
    // One write per line, so a crash leaves whole lines behind.
    if (this.jsonlFd !== null) writeSync(this.jsonlFd, `${JSON.stringify(r)}\n`);
    this.onRecord(r);
    return r;
  }

  close(): void {
    if (this.jsonlFd !== null) closeSync(this.jsonlFd);
  }
}
