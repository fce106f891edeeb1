// Requests pending a reply, by `unique`. Multithreaded daemons interleave requests, and an operation happened only
// if its reply says success; lines between a header and its reply belong to the most recent pending request they
// can belong to (exact for single-threaded daemons, a best guess for multithreaded ones), hence arrival order.
import type { DaemonFile } from "./daemon-files.js";
import type { OpenFile } from "./open-files.js";
import type { LogLine } from "./parse.js";

/**
 * Most requests pending a reply that a log may hold at once. The kernel has at most a few hundred FUSE requests in
 * flight (max_background, and one per blocked thread); beyond this bound a log is damaged, and the oldest are dropped.
 */
export const MAX_PENDING = 4096;

export interface Request {
  unique: string;
  opcode: string;
  nodeid: string;
  pid: number;
  /** From `open flags:` / `create flags:` lines. */
  flags?: number;
  path?: string;
  /** The daemon's fh, from `open[fh]` / `create[fh]`. */
  fh?: string;
  /** The nodeid of an entry reply, from `NODEID: n`. */
  entry?: string;
  /** RELEASE: the file was already released from its `release[fh]` line. */
  released?: boolean;
  /** RELEASE without an fh in the log: the file the kernel's behaviour says it releases, chosen at its header. */
  releases?: OpenFile;
  /** FLUSH: the open file whose close sent it (attributed by pid), if any. */
  flushes?: OpenFile;
  /** unlink / rename / link lines seen while this request was the latest: applied when it succeeds. */
  pathOps?: LogLine[];
  /** Backing ids registered while the daemon handled it, the id its open reply names, and the ids it closed. */
  registered?: number[];
  /** The file of each registration, where the daemon strace paired them by order (ioctl-order.ts). */
  registeredFiles?: (DaemonFile | undefined)[];
  replyId?: number;
  /** Garbled DEBUG lines read before this request: more by its reply, and its id may be one they lost (lost-ids.ts). */
  garbledBefore?: number;
  /** The older open in flight with it that an id line of its inode went to: the line may have been its own. */
  idTakenBy?: Request;
  closed?: number[];
}

export class PendingRequests {
  private readonly byUnique = new Map<string, Request>();
  /** Pending requests in arrival order: detail lines go to the latest one that can own them. */
  private readonly order: Request[] = [];

  get(unique: string): Request | undefined {
    return this.byUnique.get(unique);
  }

  /** Oldest first. */
  get inOrder(): readonly Request[] {
    return this.order;
  }

  /**
   * Makes room before an add: when MAX_PENDING requests already wait, the oldest quarter never gets a reply (a log
   * cut off or mangled, not a daemon: the kernel keeps far fewer in flight). They are returned, to be reported as
   * malformed, and memory and the searches of the order stay bounded however many unmatched uniques the log holds.
   */
  makeRoom(): Request[] {
    const expired = this.order.length >= MAX_PENDING ? this.order.splice(0, MAX_PENDING / 4) : [];
    for (const old of expired) this.byUnique.delete(old.unique);
    return expired;
  }

  add(req: Request): void {
    this.byUnique.set(req.unique, req);
    this.order.push(req);
  }

  drop(req: Request): void {
    this.byUnique.delete(req.unique);
    const i = this.order.lastIndexOf(req);
    if (i >= 0) this.order.splice(i, 1);
  }

  /** The pending requests that `ok` accepts, oldest first. */
  all(ok: (r: Request) => boolean): Request[] {
    return this.order.filter(ok);
  }

  /** The latest pending request that `ok` accepts. */
  latest(ok: (r: Request) => boolean): Request | undefined {
    for (let i = this.order.length - 1; i >= 0; i--) if (ok(this.order[i])) return this.order[i];
    return undefined;
  }
}
