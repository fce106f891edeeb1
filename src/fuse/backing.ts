// Which backing id a passthrough open is answered with: the two daemon models of the replay core (README,
// "Daemon models"), here against the real kernel.
//
// per-inode (libfuse passthrough_hp): the first open of an inode registers its backing file; later opens while
//   the inode has open files reuse that id; the last release closes it.
// per-open: every open registers its own backing file and its release closes that id. Two overlapping opens of
//   one inode then name two fuse_backing objects, which mainline refuses (the second open fails with EIO).
//
// restart() is a daemon restart that keeps /dev/fuse: the new daemon knows none of the old ids (they stay
// registered, leaked, unless closeIds closes them first), and ignores releases of files it never opened. The
// kernel's inodes keep their cached backing while old files stay open, so the new daemon's next open of such an
// inode registers a second backing object for it: refused, EIO.
import type { PassthroughAddon } from "./addon.js";
import type { Inode } from "./inodes.js";
import type { Recorder } from "./records.js";
import { replyErrorOf } from "./errors.js";
import type { DaemonModel } from "../engine.js";

/** The daemon models this daemon runs: the replay's (src/engine.ts), but for "recorded", which only a capture has. */
export type LiveDaemonModel = Exclude<DaemonModel, "recorded">;

/** An open's backing registration, kept in its file handle. */
export interface BackingRef {
  id: number;
  /** The daemon epoch (restarts before it) that registered the id. */
  epoch: number;
}

/** The request an ioctl is made for, for the records. */
export interface RequestContext {
  unique: number;
  pid: number;
}

interface InodeBacking {
  id: number;
  nopen: number;
  inode: Inode;
}

export class BackingIds {
  private epoch = 0;
  /** Ids earlier daemon epochs left registered (restarts without closeIds): the kernel holds them until unmount. */
  leaked = 0;
  /** per-inode: the id and open-file count of each inode with open passthrough files, by nodeid. */
  private readonly perInode = new Map<number, InodeBacking>();
  /** per-open: the ids of files still open, with their inode. */
  private readonly perOpen = new Map<number, Inode>();

  constructor(
    private readonly model: LiveDaemonModel,
    private readonly devFd: number,
    private readonly addon: PassthroughAddon,
    private readonly recorder: Recorder,
  ) {}

  /** The backing id to answer an open of `inode` with; `fd` is the backing file this open opened. */
  acquire(inode: Inode, fd: number, req: RequestContext): BackingRef {
    if (this.model === "per-inode") {
      const known = this.perInode.get(inode.nodeid);
      if (known !== undefined) {
        known.nopen++;
        return { id: known.id, epoch: this.epoch };
      }
    }
    const id = this.register(inode, fd, req);
    if (this.model === "per-inode") this.perInode.set(inode.nodeid, { id, nopen: 1, inode });
    else this.perOpen.set(id, inode);
    return { id, epoch: this.epoch };
  }

  /** A file opened with `ref` is released; an id of an earlier daemon epoch is not this daemon's to close. */
  release(inode: Inode, ref: BackingRef, req: RequestContext): void {
    if (ref.epoch !== this.epoch) return;
    if (this.model === "per-inode") {
      const known = this.perInode.get(inode.nodeid);
      if (known === undefined || --known.nopen > 0) return;
      this.perInode.delete(inode.nodeid);
      this.unregister(known.id, inode, req);
    } else if (this.perOpen.delete(ref.id)) {
      this.unregister(ref.id, inode, req);
    }
  }

  /** Forgets every id as a restarted daemon would, closing them first when asked. Returns how many it knew. */
  restart(closeIds: boolean): number {
    const ids: [number, Inode][] = this.model === "per-inode" ? [...this.perInode.values()].map((b) => [b.id, b.inode]) : [...this.perOpen];
    if (closeIds) for (const [id, inode] of ids) this.unregister(id, inode, { unique: 0, pid: 0 });
    else this.leaked += ids.length;
    this.perInode.clear();
    this.perOpen.clear();
    this.epoch++;
    return ids.length;
  }

  /** Ids this daemon epoch holds registered. */
  get live(): number {
    return this.model === "per-inode" ? this.perInode.size : this.perOpen.size;
  }

  private register(inode: Inode, fd: number, req: RequestContext): number {
    const at = { op: "backing_open", ...this.about(inode, req) } as const;
    try {
      const id = this.addon.backingOpen(this.devFd, fd);
      this.recorder.emit({ ...at, backing_id: id });
      return id;
    } catch (e) {
      this.recorder.emit({ ...at, error: replyErrorOf(e) });
      throw e;
    }
  }

  private unregister(id: number, inode: Inode, req: RequestContext): void {
    let error = 0;
    try {
      this.addon.backingClose(this.devFd, id);
    } catch (e) {
      // The id stays registered (or was never): nothing to undo, the record says so.
      error = replyErrorOf(e);
    }
    this.recorder.emit({ op: "backing_close", ...this.about(inode, req), backing_id: id, error });
  }

  private about(inode: Inode, req: RequestContext) {
    return { unique: req.unique, pid: req.pid, nodeid: inode.nodeid, dev: Number(inode.dev), ino: Number(inode.ino) };
  }
}
