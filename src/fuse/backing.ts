// Which backing id a passthrough open is answered with: three daemon models of the replay core (README,
// "Daemon behaviours"; spec §i.4), here against the real kernel.
//
// per-inode (libfuse passthrough_hp): the first open of an inode registers its backing file; later opens while
//   the inode has open files reuse that id; the last release closes it. A file replaced under the daemon (another
//   backing inode behind the same nodeid) is registered anew at its next open, and the old id closed.
// per-nodeid (mergerfs, src/fuse_open.cpp): as per-inode, but the id belongs to the nodeid: a replaced file keeps
//   the nodeid's old id (the old backing file) until the nodeid's last release.
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
import { FOPEN_PASSTHROUGH_INODE_CACHE } from "../abi.js";
import type { DaemonModel } from "../engine.js";
import { sha256File } from "../digest.js";
import { FOPEN_PASSTHROUGH } from "./protocol.js";

/**
 * The daemon models this daemon runs: three of the replay's (src/engine.ts). "recorded" only a capture has; stable-id
 * and stable-id-keep need server-chosen 64-bit ids (spec §i.2), which no kernel here has (README, "Kernels").
 */
export const LIVE_DAEMON_MODELS = ["per-inode", "per-open", "per-nodeid"] as const satisfies readonly DaemonModel[];
export type LiveDaemonModel = (typeof LIVE_DAEMON_MODELS)[number];

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
}

export class BackingIds {
  private epoch = 0;
  /** Ids earlier daemon epochs left registered (restarts without closeIds): the kernel holds them until unmount. */
  leaked = 0;
  /** per-inode and per-nodeid: the id and open-file count of each inode with open passthrough files, by nodeid. */
  private readonly perInode = new Map<number, InodeBacking>();
  /** per-open: the ids of files still open, with their inode. */
  private readonly perOpen = new Map<number, Inode>();

  constructor(
    private readonly model: LiveDaemonModel,
    private readonly devFd: number,
    private readonly addon: PassthroughAddon,
    private readonly recorder: Recorder,
    /** Register with a content tag (the `digest` kernel). */
    private readonly tagged = false,
  ) {}

  /** The backing id to answer an open of `inode` with; `fd` is the backing file this open opened. */
  acquire(inode: Inode, fd: number, req: RequestContext): BackingRef {
    if (this.model !== "per-open") {
      const known = this.perInode.get(inode.nodeid);
      // The file was replaced under the daemon (a re-download or a replacement: another backing inode; bytes
      // rewritten in place are the same file, as passthrough_hp keys its ids by inode): per-inode registers the new
      // one; per-nodeid keeps answering with the nodeid's id, whose object is the old file.
      if (known !== undefined && this.model === "per-inode" && (known.dev !== inode.dev || known.ino !== inode.ino)) {
        this.unregister(known.id, inode, req);
        known.id = this.register(inode, fd, req);
        known.dev = inode.dev;
        known.ino = inode.ino;
      }
      if (known !== undefined) {
        known.nopen++;
        return { id: known.id, epoch: this.epoch };
      }
    }
    const id = this.register(inode, fd, req);
    if (this.model !== "per-open") this.perInode.set(inode.nodeid, { id, nopen: 1, inode, dev: inode.dev, ino: inode.ino });
    else this.perOpen.set(id, inode);
    return { id, epoch: this.epoch };
  }

  /** A file opened with `ref` is released; an id of an earlier daemon epoch is not this daemon's to close. */
  release(inode: Inode, ref: BackingRef, req: RequestContext): void {
    if (ref.epoch !== this.epoch) return;
    if (this.model !== "per-open") {
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
    const ids: [number, Inode][] = this.model !== "per-open" ? [...this.perInode.values()].map((b) => [b.id, b.inode]) : [...this.perOpen];
    if (closeIds) for (const [id, inode] of ids) this.unregister(id, inode, { unique: 0, pid: 0 });
    else this.leaked += ids.length;
    this.perInode.clear();
    this.perOpen.clear();
    this.epoch++;
    return ids.length;
  }

  /** Ids this daemon epoch holds registered. */
  get live(): number {
    return this.model !== "per-open" ? this.perInode.size : this.perOpen.size;
  }

  private register(inode: Inode, fd: number, req: RequestContext): number {
    const at = { op: "backing_open", ...this.about(inode, req) } as const;
    try {
      const id = this.tagged ? this.addon.backingOpen(this.devFd, fd, FUSE_BACKING_TAG, contentTag(fd)) : this.addon.backingOpen(this.devFd, fd);
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
