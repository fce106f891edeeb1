// The daemon's open files: OPEN and CREATE answered with the backing id the daemon model picks (backing.ts; spec
// §b.4 for what the kernel does with it), their I/O on the backing descriptor, and RELEASE handing the id back.
// Names, paths and the inode table are the filesystem's (operations.ts); handlers follow its conventions: the
// reply's payload at offset 0 of `out`, its length returned, an error thrown.
import { closeSync, constants, fdatasyncSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from "node:fs";
import { sha256File } from "../digest.js";
import { passthroughFlags } from "./backing.js";
import { EINVAL, FuseError, replyErrorOf } from "./errors.js";
import { encodeOpenOut64 } from "./ids64.js";
import type { OpenFile } from "./files.js";
import type { Inode } from "./inodes.js";
import type { FsConfig, Request, SourceFs } from "./operations.js";
import {
  decodeCreateIn, decodeFsyncIn, decodeOpenIn, decodeReadIn, decodeReleaseIn, decodeWriteIn, encodeEntryOut, encodeOpenOut,
  encodeWriteOut, ENTRY_OUT_SIZE, FUSE_FSYNC_FDATASYNC,
} from "./protocol.js";
import type { Recorder } from "./records.js";

const { O_CREAT, O_EXCL, O_NOCTTY, O_NOFOLLOW } = constants;

export class OpenFiles {
  constructor(private readonly fs: SourceFs, private readonly config: FsConfig, private readonly recorder: Recorder) {}

  /**
   * OPEN: opens the backing file with the opener's flags (O_TRUNC included: FUSE_ATOMIC_O_TRUNC) and, with
   * passthrough, answers FOPEN_PASSTHROUGH and the backing id the daemon model picks.
   */
  open(req: Request, out: Buffer): number {
    const inode = this.fs.inodes.get(req.h.nodeid);
    const { flags } = decodeOpenIn(req.arg);
    const at = { op: "open", unique: Number(req.h.unique), pid: req.h.pid, nodeid: inode.nodeid, flags, dev: Number(inode.dev), ino: Number(inode.ino), path: this.fs.relPath(inode) } as const;
    try {
      // The /proc link is followed even under O_NOFOLLOW (the kernel already resolved the name).
      const fd = openSync(this.fs.self(inode), flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_NOFOLLOW));
      const file = this.passOpen(inode, fd, flags, req);
      this.recorder.emit({ ...at, ...this.opened(file) });
      return this.openOut(out, 0, file);
    } catch (e) {
      this.recorder.emit({ ...at, error: replyErrorOf(e) });
      throw e;
    }
  }

  /** CREATE: creates (or, without O_EXCL, opens) the name and opens it, in one reply: entry_out then open_out. */
  create(req: Request, out: Buffer): number {
    const dir = this.fs.inodes.get(req.h.nodeid);
    const a = decodeCreateIn(req.arg);
    const at = { op: "create", unique: Number(req.h.unique), pid: req.h.pid, parent: dir.nodeid, flags: a.flags, name: a.name.toString(), path: this.fs.relChild(dir, a.name) } as const;
    try {
      const path = this.fs.child(dir, a.name);
      const fd = openSync(path, a.flags & ~O_NOCTTY, a.mode & 0o7777);
      let inode: Inode;
      try {
        this.fs.own(path, req.h);
        const st = fstatSync(fd, { bigint: true });
        inode = this.fs.inodes.reference(path, st);
      } catch (e) {
        closeSync(fd);
        throw e;
      }
      const file = this.passOpen(inode, fd, a.flags, req);
      const n = encodeEntryOut(out, 0, inode.nodeid, inode.generation, this.config.entryTimeout, this.config.attrTimeout, fstatSync(fd, { bigint: true }));
      this.recorder.emit({ ...at, nodeid: inode.nodeid, dev: Number(inode.dev), ino: Number(inode.ino), ...this.opened(file) });
      return n + this.openOut(out, ENTRY_OUT_SIZE, file);
    } catch (e) {
      this.recorder.emit({ ...at, error: replyErrorOf(e) });
      throw e;
    }
  }

  /** The open file of a new open of `inode` on `fd`, with its backing id when passthrough is on. */
  private passOpen(inode: Inode, fd: number, flags: number, req: Request): OpenFile {
    const sha256 = this.config.digest ? sha256Of(fd) : "";
    let backing = null;
    try {
      backing = this.fs.backing?.acquire(inode, fd, this.fs.ctx(req)) ?? null;
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return this.fs.handles.addFile({ inode, fd, flags, backing, sha256 });
  }

  /** struct fuse_open_out at `off`: the id in backing_id, or a server-chosen one in backing_id_64 (ids64.ts). */
  private openOut(out: Buffer, off: number, file: OpenFile): number {
    const b = file.backing;
    if (b?.wide) return encodeOpenOut64(out, off, file.fh, this.fopenOf(file), BigInt(b.id));
    return encodeOpenOut(out, off, file.fh, this.fopenOf(file), b?.id ?? 0);
  }

  /** The open reply's FOPEN_* flags. */
  private fopenOf(file: OpenFile): number {
    return file.backing ? passthroughFlags(this.config.policy ?? "ptr") : 0;
  }

  /** What an open record says about the open file. */
  private opened(file: OpenFile) {
    return { fh: file.fh, fopen: this.fopenOf(file), backing_id: file.backing?.id ?? 0, sha256: file.sha256 };
  }

  read(req: Request, out: Buffer): number {
    const a = decodeReadIn(req.arg);
    const file = this.fs.handles.file(a.fh);
    if (a.size > out.length) throw new FuseError(EINVAL, `READ of ${a.size} bytes exceeds the reply buffer`);
    return readSync(file.fd, out, 0, a.size, a.offset);
  }

  write(req: Request, out: Buffer): number {
    const a = decodeWriteIn(req.arg);
    const file = this.fs.handles.file(a.fh);
    const n = writeSync(file.fd, a.data, 0, a.data.length, a.offset);
    return encodeWriteOut(out, 0, n);
  }

  /** FLUSH: a descriptor of the file was closed (fuse_flush_in starts with the fh). */
  flush(req: Request): number {
    const file = this.fs.handles.file(Number(req.arg.readBigUInt64LE(0)));
    file.flushed = true;
    return 0;
  }

  fsync(req: Request): number {
    const a = decodeFsyncIn(req.arg);
    const file = this.fs.handles.file(a.fh);
    (a.fsyncFlags & FUSE_FSYNC_FDATASYNC ? fdatasyncSync : fsyncSync)(file.fd);
    return 0;
  }

  /** RELEASE: the last close of an open file (or the kernel dropping an open it refused). */
  release(req: Request): number {
    const a = decodeReleaseIn(req.arg);
    const file = this.fs.handles.file(a.fh);
    this.fs.handles.remove(a.fh);
    closeSync(file.fd);
    this.recorder.emit({
      op: "release", unique: Number(req.h.unique), pid: req.h.pid, nodeid: file.inode.nodeid, fh: file.fh, flags: file.flags,
      fopen: this.fopenOf(file), backing_id: file.backing?.id ?? 0, dev: Number(file.inode.dev), ino: Number(file.inode.ino),
      flushed: file.flushed,
    });
    if (file.backing) this.fs.backing?.release(file.inode, file.backing, this.fs.ctx(req));
    return 0;
  }
}

/** sha256 of a file's bytes, read through a fresh descriptor (its own offset; works for O_WRONLY opens too). */
function sha256Of(fd: number): string {
  return Buffer.from(sha256File(`/proc/self/fd/${fd}`)).toString("hex");
}
