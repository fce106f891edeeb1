// The request loop: read one request from /dev/fuse, handle it to completion, write its reply, read the next.
// One request at a time, in the order the kernel queued them (a single-threaded daemon; the kernel serializes
// nothing for us, and nothing here needs it to). The read waits on a libuv pool thread, so the event loop stays
// free for the controller's messages (restart, settle, stop) between requests.
import { closeSync, fstatSync, openSync, read, writeSync } from "node:fs";
import { AddonMissingError, ADDON_MISSING, type PassthroughAddon } from "./addon.js";
import { performAction, redownloadNodeid, type ActionResult, type ScenarioAction } from "./actions.js";
import { BackingIds, STABLE_ID_MODELS, type DaemonPolicy, type DaemonIdModel } from "./backing.js";
import { ENOSYS, errnoName, FuseError, replyErrorOf } from "./errors.js";
import { FUSE_BACKING_ID_64, notifyBackingClose } from "./ids64.js";
import { SourceFs, type Request } from "./operations.js";
import {
  decodeBatchForgetIn, decodeForgetIn, decodeInHeader, decodeInitIn, encodeInitOut, encodeOutHeader,
  FUSE_KERNEL_MINOR_VERSION, FUSE_KERNEL_VERSION, FUSE_MIN_READ_BUFFER, IN_HEADER_SIZE, InitFlag, Opcode, opcodeName,
  OUT_HEADER_SIZE, WRITE_IN_SIZE,
} from "./protocol.js";
import type { Recorder } from "./records.js";

export interface DaemonConfig {
  /** The directory served (the caller's scratch copy: the daemon changes it). */
  source: string;
  model: DaemonIdModel;
  /** Ask for FUSE_PASSTHROUGH at INIT. */
  passthrough: boolean;
  /** Restart after every N opens (OPEN and CREATE count), when the next open arrives. */
  restartEvery?: number;
  /** Restart before open number k (1-based), for each k. */
  restartAt?: number[];
  /** Whether a restart driven by restartEvery/restartAt closes the old ids first. */
  restartCloseIds?: boolean;
  /** Re-download (actions.ts) the file of every N-th OPEN request (CREATEs not counted) just before answering it. */
  redownloadEvery?: number;
  /** The kernel policy the replies are for (default ptr; reuse adds FOPEN_PASSTHROUGH_INODE_CACHE). */
  policy?: DaemonPolicy;
  digest: boolean;
  entryTimeout: number;
  attrTimeout: number;
  /** FUSE_MAX_PAGES: the largest READ/WRITE, in 4 KiB pages. */
  maxPages: number;
  /** init_out.max_stack_depth: 1 when backing files live on a plain filesystem (2 if they are on overlayfs). */
  maxStackDepth: number;
}

/** What the daemon negotiated, for callers deciding what a run can show. */
export interface DaemonStatus {
  /** FUSE_PASSTHROUGH negotiated and a probe BACKING_OPEN accepted. */
  passthrough: boolean;
  /** Why passthrough is off; null when it is on. */
  reason: string | null;
  /** The kernel takes server-chosen 64-bit backing ids (FUSE_BACKING_ID_64, ids64.ts): a probe registered one. */
  ids64: boolean;
  model: DaemonIdModel;
  /** The kernel's protocol version, and the one in use (the lower minor). */
  kernel: { major: number; minor: number };
  proto: { major: number; minor: number };
  maxWrite: number;
  maxStackDepth: number;
}

/** Counters of a running daemon. */
export interface DaemonStats {
  requests: number;
  opens: number;
  restarts: number;
  /** Inodes the kernel holds references to (the root included), files and directories open. */
  inodes: number;
  handles: number;
  /** Backing ids the current daemon epoch holds registered, and those earlier epochs left registered. */
  backingIds: number;
  leakedBackingIds: number;
  /** Replies the kernel refused to take (a daemon bug; each is also printed on stderr). */
  replyErrors: number;
}

const PAGE = 4096;
/** Opcodes without a reply. */
const NO_REPLY = new Set<number>([Opcode.FORGET, Opcode.BATCH_FORGET, Opcode.INTERRUPT]);
/** Reads that failed for a reason of the moment (a signal, a request interrupted before we took it). */
const RETRY = new Set(["EINTR", "EAGAIN", "ENOENT"]);

export class FuseDaemon {
  readonly fs: SourceFs;
  status: DaemonStatus | null = null;
  private readonly maxWrite: number;
  private readonly inbuf: Buffer;
  private readonly outbuf: Buffer;
  private readonly restartAt: Set<number>;
  private requests = 0;
  private opens = 0;
  private restarts = 0;
  private replyErrors = 0;
  private stopping = false;
  private restartDue = false;
  /** OPEN requests (CREATE not counted: a re-download needs a file that exists). */
  private openRequests = 0;
  /** process.hrtime of the last request handled, for settle(). */
  lastRequest = process.hrtime.bigint();
  private initWaiters: ((s: DaemonStatus) => void)[] = [];

  constructor(
    private readonly devFd: number,
    private readonly config: DaemonConfig,
    private readonly recorder: Recorder,
    private readonly addon: PassthroughAddon | AddonMissingError,
  ) {
    this.fs = new SourceFs(config.source, config, recorder);
    this.maxWrite = config.maxPages * PAGE;
    // The kernel wants room for the largest WRITE with its headers, and never less than FUSE_MIN_READ_BUFFER.
    this.inbuf = Buffer.alloc(Math.max(FUSE_MIN_READ_BUFFER, IN_HEADER_SIZE + WRITE_IN_SIZE + this.maxWrite + PAGE));
    this.outbuf = Buffer.alloc(OUT_HEADER_SIZE + this.maxWrite + PAGE);
    this.restartAt = new Set(config.restartAt ?? []);
  }

  /** Resolves with the status once INIT has been answered. */
  initialized(): Promise<DaemonStatus> {
    return this.status ? Promise.resolve(this.status) : new Promise((resolve) => this.initWaiters.push(resolve));
  }

  stats(): DaemonStats {
    return {
      requests: this.requests, opens: this.opens, restarts: this.restarts, inodes: this.fs.inodes.size,
      handles: this.fs.handles.size,
      backingIds: this.fs.backing?.live ?? 0, leakedBackingIds: this.fs.backing?.leaked ?? 0, replyErrors: this.replyErrors,
    };
  }

  /**
   * Serves until the kernel ends the connection (unmount: ENODEV) or stop(). Reads before the mount is attached
   * fail with EPERM: those are retried, so the loop may start before mount(2) and INIT never waits on us.
   */
  serve(): Promise<void> {
    return new Promise((resolve, reject) => {
      const next = () => {
        if (this.stopping) return resolve();
        read(this.devFd, this.inbuf, 0, this.inbuf.length, null, (err, n) => {
          if (err) {
            if (RETRY.has(err.code ?? "")) return next();
            if (err.code === "EPERM" && this.status === null) return void setTimeout(next, 5);
            if (err.code === "ENODEV" || err.code === "ECONNABORTED") return resolve();
            return reject(err);
          }
          try {
            this.handle(this.inbuf.subarray(0, n));
          } catch (e) {
            return reject(e);
          }
          next();
        });
      };
      next();
    });
  }

  /** Ends serve() after the read in progress (unmounting is what makes that read return). */
  stop(): void {
    this.stopping = true;
  }

  /**
   * A daemon restart that keeps the kernel connection: the new daemon knows no backing id (closeIds: the old
   * one closed them first; otherwise they stay registered). Inodes and open files are kept: what is restarted is
   * the part of the daemon that answers opens with backing ids.
   */
  restart(closeIds: boolean): void {
    this.fs.backing?.restart(closeIds);
    this.restarts++;
    this.recorder.epoch++;
    this.recorder.emit({ op: "restart", close_ids: closeIds });
  }

  /** A scenario action on a backing file while the kernel keeps its inode (actions.ts). */
  action(a: ScenarioAction): ActionResult {
    const r = performAction(this.fs.inodes, a);
    this.recordAction(a.kind, r);
    return r;
  }

  private recordAction(kind: string, r: ActionResult): void {
    const [dev, ino] = r.after.split(":").map(Number);
    this.recorder.emit({ op: "action", via: kind, nodeid: r.nodeid, dev, ino });
  }

  close(): void {
    this.fs.close();
    this.recorder.close();
  }

  /** One request, from header to reply. */
  private handle(msg: Buffer): void {
    const h = decodeInHeader(msg);
    const req: Request = { h, arg: msg.subarray(IN_HEADER_SIZE, h.len - h.totalExtlen * 8) };
    this.requests++;
    this.lastRequest = process.hrtime.bigint();
    const isOpen = h.opcode === Opcode.OPEN || h.opcode === Opcode.CREATE;
    if (isOpen) this.beforeOpen();
    const every = this.config.redownloadEvery ?? 0;
    if (h.opcode === Opcode.OPEN && every > 0 && ++this.openRequests % every === 0) {
      const r = redownloadNodeid(this.fs.inodes, Number(h.nodeid));
      if (r !== null) this.recordAction("redownload", r);
    }
    const payload = this.outbuf.subarray(OUT_HEADER_SIZE);
    let len = 0;
    let error = 0;
    try {
      len = this.dispatch(req, payload);
    } catch (e) {
      error = replyErrorOf(e);
    }
    if (!NO_REPLY.has(h.opcode)) this.reply(h.opcode, h.unique, error, error === 0 ? len : 0);
    if (h.opcode === Opcode.INIT) this.probePassthrough();
    if (isOpen) this.afterOpen();
  }

  private dispatch(req: Request, out: Buffer): number {
    const fs = this.fs;
    switch (req.h.opcode) {
      case Opcode.INIT: return this.init(req, out);
      case Opcode.DESTROY: return 0;
      case Opcode.LOOKUP: return fs.lookup(req, out);
      case Opcode.FORGET: fs.forget(req, req.h.nodeid, decodeForgetIn(req.arg)); return 0;
      case Opcode.BATCH_FORGET:
        for (const f of decodeBatchForgetIn(req.arg)) fs.forget(req, f.nodeid, f.nlookup);
        return 0;
      case Opcode.GETATTR: return fs.getattr(req, out);
      case Opcode.SETATTR: return fs.setattr(req, out);
      case Opcode.READLINK: return fs.readlink(req, out);
      case Opcode.SYMLINK: return fs.symlink(req, out);
      case Opcode.MKNOD: return fs.mknod(req, out);
      case Opcode.MKDIR: return fs.mkdir(req, out);
      case Opcode.UNLINK: return fs.unlink(req);
      case Opcode.RMDIR: return fs.rmdir(req);
      case Opcode.RENAME: return fs.rename(req, false);
      case Opcode.RENAME2: return fs.rename(req, true);
      case Opcode.LINK: return fs.link(req, out);
      case Opcode.OPEN: return fs.files.open(req, out);
      case Opcode.CREATE: return fs.files.create(req, out);
      case Opcode.READ: return fs.files.read(req, out);
      case Opcode.WRITE: return fs.files.write(req, out);
      case Opcode.FLUSH: return fs.files.flush(req);
      case Opcode.FSYNC: return fs.files.fsync(req);
      case Opcode.RELEASE: return fs.files.release(req);
      case Opcode.OPENDIR: return fs.opendir(req, out);
      case Opcode.READDIR: return fs.readdir(req, out);
      case Opcode.RELEASEDIR: return fs.releasedir(req);
      case Opcode.FSYNCDIR: return fs.fsyncdir();
      case Opcode.STATFS: return fs.statfs(req, out);
      case Opcode.ACCESS: return fs.access(req);
      // The kernel answers an interrupted request's caller itself once we reply; requests here finish at once.
      case Opcode.INTERRUPT: return 0;
      // ENOSYS on xattrs: the kernel stops asking (it would ask for security.capability on every write).
      default: throw new FuseError(ENOSYS, `${opcodeName(req.h.opcode)} not implemented`);
    }
  }

  /**
   * INIT: the protocol version and the features wanted. Passthrough needs FUSE_INIT_EXT (it is a flags2 bit),
   * a max_stack_depth > 0, and no writeback cache; the kernel then accepts FOPEN_PASSTHROUGH opens.
   */
  private init(req: Request, out: Buffer): number {
    const kin = decodeInitIn(req.arg);
    const kernel = { major: kin.major, minor: kin.minor };
    const proto = { major: FUSE_KERNEL_VERSION, minor: Math.min(kin.minor, FUSE_KERNEL_MINOR_VERSION) };
    const wanted = InitFlag.BIG_WRITES | InitFlag.ATOMIC_O_TRUNC | InitFlag.MAX_PAGES | InitFlag.INIT_EXT | InitFlag.PARALLEL_DIROPS;
    let flags = kin.flags & wanted;
    let reason: string | null = null;
    if (!this.config.passthrough) reason = "passthrough disabled by option";
    else if (kin.major !== FUSE_KERNEL_VERSION || kin.minor < 40 || (kin.flags & InitFlag.PASSTHROUGH) === 0n) {
      reason = `the kernel does not offer FUSE_PASSTHROUGH (FUSE ${kin.major}.${kin.minor}; needs Linux 6.9+ with CONFIG_FUSE_PASSTHROUGH=y)`;
    } else if (this.addon instanceof AddonMissingError) reason = ADDON_MISSING;
    else flags |= InitFlag.PASSTHROUGH;
    const passthrough = reason === null;
    this.status = { passthrough, reason, ids64: false, model: this.config.model, kernel, proto, maxWrite: this.maxWrite, maxStackDepth: passthrough ? this.config.maxStackDepth : 0 };
    return encodeInitOut(out, 0, {
      major: FUSE_KERNEL_VERSION, minor: proto.minor, maxReadahead: kin.maxReadahead, flags,
      maxBackground: 16, congestionThreshold: 12, maxWrite: this.maxWrite, timeGran: 1, maxPages: this.config.maxPages,
      maxStackDepth: this.status.maxStackDepth,
    });
  }

  /**
   * After the INIT reply the connection says whether it took passthrough: a BACKING_OPEN of a regular file
   * (the node binary) succeeds only then. Recorded (via "probe", nodeid 0): it takes an id from the connection's
   * idr like any registration, and a replay of the capture must hand out the same ids after it.
   */
  private probePassthrough(): void {
    const status = this.status!;
    if (status.passthrough) {
      const addon = this.addon as PassthroughAddon;
      let fd = -1;
      try {
        fd = openSync(process.execPath, "r");
        const id = addon.backingOpen(this.devFd, fd);
        const st = fstatSync(fd);
        const probe = { dev: Number(st.dev), ino: Number(st.ino), path: process.execPath, via: "probe" };
        this.recorder.emit({ op: "backing_open", ...probe, backing_id: id });
        addon.backingClose(this.devFd, id);
        this.recorder.emit({ op: "backing_close", ...probe, backing_id: id });
        status.ids64 = this.probeIds64(addon, fd);
        if (STABLE_ID_MODELS.some((m) => m === this.config.model) && !status.ids64) {
          throw new Error(`${this.config.model} ids need server-chosen 64-bit backing ids (FUSE_BACKING_ID_64, Miklos Szeredi's fuse tree), which this kernel refuses: the ptr guest kernel of scripts/build-kernels.sh has them`);
        }
        this.fs.backing = new BackingIds(this.config.model, this.devFd, addon, this.recorder, this.config.policy === "digest");
      } catch (e) {
        status.passthrough = false;
        status.reason = `the kernel refused FUSE_DEV_IOC_BACKING_OPEN after INIT: ${(e as Error).message}`;
      } finally {
        if (fd >= 0) closeSync(fd);
      }
    }
    for (const w of this.initWaiters.splice(0)) w(status);
  }

  /**
   * Whether the kernel takes a server-chosen 64-bit id: registers `fd` under an id no stable-id daemon picks
   * (ids64.ts), and closes it. Not recorded: it takes nothing from the connection's idr. A kernel without them
   * refuses the flag (EINVAL).
   */
  private probeIds64(addon: PassthroughAddon, fd: number): boolean {
    const probeId = 0xfffffffffffffff0n;
    try {
      addon.backingOpen(this.devFd, fd, FUSE_BACKING_ID_64, probeId);
    } catch {
      return false;
    }
    notifyBackingClose(this.devFd, probeId);
    return true;
  }

  /**
   * A restart due after the previous open happens only now, when the next open arrives: the kernel finishes an open
   * in the opener's task after our reply (spec §b.3), so closing ids right after the reply would race with its id
   * lookup (the id gone before the kernel takes it: ENOENT→EIO), an order the capture (by reply) cannot show. A
   * sequential workload's next open comes after the previous open(2) returned.
   */
  private beforeOpen(): void {
    if (this.restartDue) {
      this.restartDue = false;
      this.restart(this.config.restartCloseIds ?? false);
    }
    this.opens++;
    if (this.restartAt.has(this.opens)) this.restart(this.config.restartCloseIds ?? false);
  }

  private afterOpen(): void {
    const every = this.config.restartEvery ?? 0;
    if (every > 0 && this.opens % every === 0) this.restartDue = true;
  }

  private reply(opcode: number, unique: bigint, error: number, len: number): void {
    encodeOutHeader(this.outbuf, OUT_HEADER_SIZE + len, error, unique);
    try {
      writeSync(this.devFd, this.outbuf, 0, OUT_HEADER_SIZE + len);
    } catch (e) {
      // ENOENT: the request was interrupted and is gone; anything else is a malformed reply.
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      this.replyErrors++;
      process.stderr.write(`fuse daemon: reply to ${opcodeName(opcode)} (error ${errnoName(error)}, ${len} bytes) refused: ${(e as Error).message}\n`);
    }
  }
}
