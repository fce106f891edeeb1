// Which backing id a passthrough open is answered with: five daemon models of the replay core (README,
// "Daemon behaviours"; spec §i.4), here against the real kernel.
//
// per-inode (libfuse passthrough_hp): the first open of an inode registers its backing file; later opens while
//   the inode has open files reuse that id; the last release closes it. A file replaced under the daemon (another
//   backing inode behind the same nodeid) is registered anew at its next open, and the old id closed.
// per-nodeid (mergerfs, src/fuse_open.cpp): as per-inode, but the id belongs to the nodeid: a replaced file keeps
//   the nodeid's old id (the old backing file) until the nodeid's last release.
// per-open: every open registers its own backing file and its release closes that id. Two overlapping opens of
//   one inode then name two fuse_backing objects, which mainline refuses (the second open fails with EIO).
// stable-id, stable-id-keep: as per-inode, with ids the daemon chooses from the backing file's identity (spec §i.2,
//   ids64.ts), registered only when not registered already; -keep never closes an id its predecessor registered.
//
// restart() is a daemon restart that keeps /dev/fuse: the new daemon knows none of the old ids (they stay
// registered, leaked, unless closeIds closes them first), and ignores releases of files it never opened. The
// kernel's inodes keep their cached backing while old files stay open, so the new daemon's next open of such an
// inode registers a second backing object for it: refused, EIO.
import type { PassthroughAddon } from "./addon.js";
import type { Inode } from "./inodes.js";
import type { Recorder } from "./records.js";
import { replyErrorOf } from "./errors.js";
import { FOPEN_PASSTHROUGH_INODE_CACHE } from "../abi.js";
import type { DaemonModel } from "../engine.js";
import { sha256File } from "../digest.js";
import { FUSE_BACKING_ID_64, notifyBackingClose, stableIdOf } from "./ids64.js";
import { FOPEN_PASSTHROUGH } from "./protocol.js";

/**
 * The daemon models this daemon runs on any passthrough kernel: three of the replay's (src/engine.ts). "recorded"
 * only a capture has.
 */
export const LIVE_DAEMON_MODELS = ["per-inode", "per-open", "per-nodeid"] as const satisfies readonly DaemonModel[];
export type LiveDaemonModel = (typeof LIVE_DAEMON_MODELS)[number];
/**
 * The two it runs only on a kernel with server-chosen 64-bit ids (ids64.ts: our `ptr` guest kernel, not mainline):
 * their ids are not the kernel's to hand out, and do not fit a trace's 32-bit id column, so they are played
 * (kernel-check's scenarios), not recorded.
 */
export const STABLE_ID_MODELS = ["stable-id", "stable-id-keep"] as const satisfies readonly DaemonModel[];
export type DaemonIdModel = LiveDaemonModel | (typeof STABLE_ID_MODELS)[number];

/**
 * The kernel policy the daemon answers for: `ptr` and `inode` need nothing of it; under `reuse` (RFC 2/2, the
 * `reuse` guest kernel) every passthrough open also carries FOPEN_PASSTHROUGH_INODE_CACHE; under `digest` (our
 * prototype, kernel/patches/digest.patch) every registration carries a content tag. A kernel without the patch
 * refuses either (EINVAL): only that policy's kernel takes it.
 */
export type DaemonPolicy = "ptr" | "inode" | "digest" | "reuse";
export const DAEMON_POLICIES: readonly DaemonPolicy[] = ["ptr", "inode", "digest", "reuse"];

/** fuse_backing_map.flags bit of the `digest` kernel: `padding` carries a content tag. */
export const FUSE_BACKING_TAG = 1;

/** The content tag of a backing file: the first 8 bytes of its sha256 (the `digest` model compares all 32). */
export function contentTag(fd: number): bigint {
  return Buffer.from(sha256File(`/proc/self/fd/${fd}`)).readBigUInt64BE(0);
}

/** The FOPEN_* flags of a passthrough open reply under `policy`. */
export function passthroughFlags(policy: DaemonPolicy): number {
  return policy === "reuse" ? FOPEN_PASSTHROUGH | FOPEN_PASSTHROUGH_INODE_CACHE : FOPEN_PASSTHROUGH;
}

/** An open's backing registration, kept in its file handle. */
export interface BackingRef {
  id: number;
  /** The daemon epoch (restarts before it) that registered the id. */
  epoch: number;
  /** A server-chosen 64-bit id (ids64.ts): the open reply names it in backing_id_64. */
  wide: boolean;
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
  /** The backing file the id was registered for (the inode may have been rebound to another since). */
  dev: bigint;
  ino: bigint;
  /** stable-id-keep: this daemon registered the id (false: it found it registered, its predecessor's). */
  own: boolean;
}

export class BackingIds {
  private epoch = 0;
  /** Ids earlier daemon epochs left registered (restarts without closeIds): the kernel holds them until unmount. */
  leaked = 0;
  /** Every id but per-open's: the id and open-file count of each inode with open passthrough files, by nodeid. */
  private readonly perInode = new Map<number, InodeBacking>();
  /** per-open: the ids of files still open, with their inode. */
  private readonly perOpen = new Map<number, Inode>();
  /**
   * stable-id: the ids registered in the kernel's table. A daemon that chooses its ids knows them across a restart
   * (a real one would keep them in a file): the one state a restart keeps here.
   */
  private readonly registered = new Set<number>();
  private readonly stable: boolean;

  constructor(
    private readonly model: DaemonIdModel,
    private readonly devFd: number,
    private readonly addon: PassthroughAddon,
    private readonly recorder: Recorder,
    /** Register with a content tag (the `digest` kernel). */
    private readonly tagged = false,
  ) {
    this.stable = model === "stable-id" || model === "stable-id-keep";
  }

  /** The backing id to answer an open of `inode` with; `fd` is the backing file this open opened. */
  acquire(inode: Inode, fd: number, req: RequestContext): BackingRef {
    if (this.model === "per-open") {
      const id = this.register(inode, fd, req);
      this.perOpen.set(id, inode);
      return { id, epoch: this.epoch, wide: false };
    }
    let known = this.perInode.get(inode.nodeid);
    if (known === undefined) {
      known = { id: 0, nopen: 0, inode, dev: inode.dev, ino: inode.ino, own: false };
      this.perInode.set(inode.nodeid, known);
    } else if (known.id !== 0 && this.model !== "per-nodeid" && (known.dev !== inode.dev || known.ino !== inode.ino)) {
      // The file was replaced under the daemon (a re-download or a replacement: another backing inode; bytes
      // rewritten in place are the same file, as passthrough_hp keys its ids by inode): per-inode and stable-id let
      // the old id go and take the new file's; per-nodeid keeps the nodeid's id, whose object is the old file.
      if (this.closes(known)) this.unregister(known.id, inode, req);
      known.id = 0;
    }
    try {
      if (this.stable) {
        // spec §i.2: registered only when the table has no such id; found there, it is inherited from a predecessor.
        const id = Number(stableIdOf(inode.dev, inode.ino));
        if (!this.registered.has(id)) {
          this.register(inode, fd, req, id);
          known.own = true;
        } else if (known.id !== id) known.own = false;
        known.id = id;
      } else if (known.id === 0) {
        known.id = this.register(inode, fd, req);
      } else {
        return this.answer(known);
      }
    } catch (e) {
      if (known.nopen === 0) this.perInode.delete(inode.nodeid);
      throw e;
    }
    known.dev = inode.dev;
    known.ino = inode.ino;
    return this.answer(known);
  }

  /** One more open file answered with `b`'s id. */
  private answer(b: InodeBacking): BackingRef {
    b.nopen++;
    return { id: b.id, epoch: this.epoch, wide: this.stable };
  }

  /** A file opened with `ref` is released; an id of an earlier daemon epoch is not this daemon's to close. */
  release(inode: Inode, ref: BackingRef, req: RequestContext): void {
    if (ref.epoch !== this.epoch) return;
    if (this.model === "per-open") {
      if (this.perOpen.delete(ref.id)) this.unregister(ref.id, inode, req);
      return;
    }
    const known = this.perInode.get(inode.nodeid);
    if (known === undefined || --known.nopen > 0) return;
    this.perInode.delete(inode.nodeid);
    if (this.closes(known)) this.unregister(known.id, inode, req);
  }

  /** Forgets every id as a restarted daemon would, closing them first when asked. Returns how many it knew. */
  restart(closeIds: boolean): number {
    const ids: [number, Inode][] = this.model !== "per-open" ? [...this.perInode.values()].map((b) => [b.id, b.inode]) : [...this.perOpen];
    if (closeIds) {
      for (const [id, inode] of ids) this.unregister(id, inode, { unique: 0, pid: 0 });
      // stable-id also knows the ids its predecessors left registered: all of them go.
      for (const id of [...this.registered]) this.unregister(id, null, { unique: 0, pid: 0 });
    } else this.leaked += ids.length;
    this.perInode.clear();
    this.perOpen.clear();
    this.epoch++;
    return ids.length;
  }

  /** Ids this daemon epoch holds registered. */
  get live(): number {
    return this.model !== "per-open" ? this.perInode.size : this.perOpen.size;
  }

  /** Whether the daemon closes its id for `b` when done with it: stable-id-keep never closes one it inherited. */
  private closes(b: InodeBacking): boolean {
    return this.model !== "stable-id-keep" || b.own;
  }

  /** Registers `fd`: under the server-chosen `id` (stable-id), else under the id the kernel hands out. */
  private register(inode: Inode, fd: number, req: RequestContext, id?: number): number {
    const at = { op: "backing_open", ...this.about(inode, req) } as const;
    try {
      let got: number;
      if (id !== undefined) {
        this.addon.backingOpen(this.devFd, fd, FUSE_BACKING_ID_64, BigInt(id));
        this.registered.add(id);
        got = id;
      } else {
        got = this.tagged ? this.addon.backingOpen(this.devFd, fd, FUSE_BACKING_TAG, contentTag(fd)) : this.addon.backingOpen(this.devFd, fd);
      }
      this.recorder.emit({ ...at, backing_id: got });
      return got;
    } catch (e) {
      this.recorder.emit({ ...at, error: replyErrorOf(e) });
      throw e;
    }
  }

  private unregister(id: number, inode: Inode | null, req: RequestContext): void {
    let error = 0;
    try {
      if (this.stable) {
        this.registered.delete(id);
        notifyBackingClose(this.devFd, BigInt(id));
      } else this.addon.backingClose(this.devFd, id);
    } catch (e) {
      // The id stays registered (or was never): nothing to undo, the record says so.
      error = replyErrorOf(e);
    }
    this.recorder.emit({ op: "backing_close", ...this.about(inode, req), backing_id: id, error });
  }

  /** What a registration record says: the request, and the inode (none for an inherited id closed at a restart). */
  private about(inode: Inode | null, req: RequestContext) {
    return { unique: req.unique, pid: req.pid, nodeid: inode?.nodeid ?? 0, dev: Number(inode?.dev ?? 0), ino: Number(inode?.ino ?? 0) };
  }
}
