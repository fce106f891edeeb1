// The filesystem the daemon serves: a source directory, one backing object per FUSE inode, each request done
// with the matching syscall on the backing side (as libfuse's passthrough_hp does it). Handlers are synchronous,
// write their reply's payload at offset 0 of `out` and return its length; they throw to reply an error.
//
// Names reach the backing side as /proc/self/fd/<dir's O_PATH fd>/<name>: the *at() calls without Node having them.
// Node's fs takes Buffer paths, so names stay the bytes the kernel sent.
import {
  accessSync, chmodSync, closeSync, constants, fstatSync, ftruncateSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync,
  openSync, readdirSync, readlinkSync, renameSync, rmdirSync, statfsSync, symlinkSync, truncateSync, unlinkSync, utimesSync,
  type BigIntStats,
} from "node:fs";
import type { BackingIds, DaemonPolicy, RequestContext } from "./backing.js";
import { EEXIST, EINVAL, ENOENT, ENOSYS, FuseError, replyErrorOf } from "./errors.js";
import { HandleTable, type DirEntry } from "./files.js";
import { InodeTable, S_IFLNK, S_IFMT, S_IFREG, type Inode } from "./inodes.js";
import { OpenFiles } from "./opens.js";
import {
  decodeAccessIn, decodeGetattrIn, decodeLinkIn, decodeMkdirIn, decodeMknodIn, decodeReadIn, decodeReleaseIn, decodeRenameIn,
  decodeSetattrIn, decodeSymlinkIn, encodeAttrOut, encodeDirent, encodeEntryOut, encodeOpenOut, encodeStatfsOut,
  FATTR_ATIME, FATTR_ATIME_NOW, FATTR_FH, FATTR_GID, FATTR_MODE, FATTR_MTIME, FATTR_MTIME_NOW, FATTR_SIZE, FATTR_UID,
  FUSE_GETATTR_FH, RENAME_EXCHANGE, RENAME_NOREPLACE, readName,
  type InHeader,
} from "./protocol.js";
import type { Recorder, RecordFields } from "./records.js";

const { O_CREAT, O_EXCL, O_RDONLY, O_WRONLY } = constants;

/** One request: its header and its arguments (extensions stripped). */
export interface Request {
  h: InHeader;
  arg: Buffer;
}

export interface FsConfig {
  /** Seconds the kernel may cache names and attributes (libfuse's default: 1). */
  entryTimeout: number;
  attrTimeout: number;
  /** sha256 of the backing file at each open (costs a read of the file). */
  digest: boolean;
  /** The kernel policy answered for (default ptr): under reuse, passthrough replies carry the RFC's flag. */
  policy?: DaemonPolicy;
}

/** DT_* of an S_IFMT type, for READDIR. */
const dtype = (mode: number) => (mode & S_IFMT) >> 12;

export class SourceFs {
  readonly inodes: InodeTable;
  readonly handles = new HandleTable();
  /** Set once passthrough is negotiated (and the addon is there); null: every open goes through the daemon. */
  backing: BackingIds | null = null;
  /** OPEN, CREATE, their I/O and RELEASE (opens.ts). */
  readonly files: OpenFiles;

  constructor(source: string, private readonly config: FsConfig, private readonly recorder: Recorder) {
    this.inodes = new InodeTable(source);
    this.files = new OpenFiles(this, config, recorder);
  }

  // ---- names and paths (opens.ts uses them too) -------------------------------------------------------------

  /** The backing object itself, through its O_PATH descriptor (follows it for files and directories). */
  self(inode: Inode): string {
    return `/proc/self/fd/${inode.fd}`;
  }

  /** `name` inside directory `dir`, like an *at() call on the directory's descriptor. */
  child(dir: Inode, name: Buffer): Buffer {
    return Buffer.concat([Buffer.from(`/proc/self/fd/${dir.fd}/`), name]);
  }

  /** The backing object's current absolute path (" (deleted)" appended once unlinked). */
  private realPath(inode: Inode): string {
    return inode === this.inodes.root ? this.inodes.rootPath : readlinkSync(this.self(inode));
  }

  /** The path relative to the source directory, for records; "" when it cannot be told. */
  relPath(inode: Inode): string {
    try {
      const p = this.realPath(inode);
      const root = this.inodes.rootPath;
      return p === root ? "." : p.startsWith(`${root}/`) ? p.slice(root.length + 1) : p;
    } catch {
      return "";
    }
  }

  relChild(dir: Inode, name: Buffer): string {
    const d = this.relPath(dir);
    return d === "." ? name.toString() : `${d}/${name.toString()}`;
  }

  private lstat(path: string | Buffer): BigIntStats {
    const st = lstatSync(path, { bigint: true, throwIfNoEntry: false });
    if (st === undefined) throw new FuseError(ENOENT);
    return st;
  }

  private fstat(inode: Inode): BigIntStats {
    return fstatSync(inode.fd, { bigint: true });
  }

  /** Entry reply for a new reference to `path` (LOOKUP and every request that creates a name). */
  private entry(out: Buffer, path: Buffer, st: BigIntStats): [number, Inode] {
    const inode = this.inodes.reference(path, st);
    return [encodeEntryOut(out, 0, inode.nodeid, inode.generation, this.config.entryTimeout, this.config.attrTimeout, st), inode];
  }

  /** New objects belong to the requester, as if it had made them (the daemon runs as root). */
  own(path: Buffer, h: InHeader): void {
    if (h.uid !== process.geteuid?.() || h.gid !== process.getegid?.()) lchownSync(path, h.uid, h.gid);
  }

  ctx(req: Request): RequestContext {
    return { unique: Number(req.h.unique), pid: req.h.pid };
  }

  // ---- names ------------------------------------------------------------------------------------------------

  lookup(req: Request, out: Buffer): number {
    const dir = this.inodes.get(req.h.nodeid);
    const [name] = readName(req.arg, 0);
    return this.created(req, out, undefined, dir, name);
  }

  /** FORGET and each entry of BATCH_FORGET: no reply. */
  forget(req: Request, nodeid: number, nlookup: number): void {
    this.inodes.forget(nodeid, nlookup);
    this.recorder.emit({ op: "forget", unique: Number(req.h.unique), nodeid, nlookup });
  }

  /**
   * Replies with the entry of `name` in `dir`, recorded as a lookup. MKDIR, SYMLINK, MKNOD and LINK make the name
   * first (`make`) and are recorded as a lookup `via` them.
   */
  private created(req: Request, out: Buffer, via: string | undefined, dir: Inode, name: Buffer, make?: (path: Buffer) => void): number {
    const at = { op: "lookup", via, unique: Number(req.h.unique), pid: req.h.pid, parent: dir.nodeid, name: name.toString(), path: this.relChild(dir, name) } as const;
    try {
      const path = this.child(dir, name);
      make?.(path);
      const [n, inode] = this.entry(out, path, this.lstat(path));
      this.recorder.emit({ ...at, nodeid: inode.nodeid, dev: Number(inode.dev), ino: Number(inode.ino) });
      return n;
    } catch (e) {
      this.recorder.emit({ ...at, error: replyErrorOf(e) });
      throw e;
    }
  }

  mkdir(req: Request, out: Buffer): number {
    const a = decodeMkdirIn(req.arg);
    return this.created(req, out, "MKDIR", this.inodes.get(req.h.nodeid), a.name, (p) => {
      mkdirSync(p, a.mode & 0o7777);
      this.own(p, req.h);
    });
  }

  symlink(req: Request, out: Buffer): number {
    const a = decodeSymlinkIn(req.arg);
    return this.created(req, out, "SYMLINK", this.inodes.get(req.h.nodeid), a.name, (p) => {
      symlinkSync(a.target, p);
      this.own(p, req.h);
    });
  }

  /** Regular files only (mknod(2) of a FIFO or device is not something Node can do). */
  mknod(req: Request, out: Buffer): number {
    const a = decodeMknodIn(req.arg);
    if ((a.mode & S_IFMT) !== S_IFREG && (a.mode & S_IFMT) !== 0) throw new FuseError(ENOSYS, "mknod of a special file");
    return this.created(req, out, "MKNOD", this.inodes.get(req.h.nodeid), a.name, (p) => {
      closeSync(openSync(p, O_CREAT | O_EXCL | O_WRONLY, a.mode & 0o7777));
      this.own(p, req.h);
    });
  }

  link(req: Request, out: Buffer): number {
    const a = decodeLinkIn(req.arg);
    const target = this.inodes.get(a.oldnodeid);
    // link(2) does not follow the /proc magic link: name the target by its path.
    return this.created(req, out, "LINK", this.inodes.get(req.h.nodeid), a.name, (p) => linkSync(this.realPath(target), p));
  }

  unlink(req: Request): number {
    return this.remove(req, undefined, unlinkSync);
  }

  /** Recorded as an unlink `via` RMDIR. */
  rmdir(req: Request): number {
    return this.remove(req, "RMDIR", rmdirSync);
  }

  private remove(req: Request, via: string | undefined, removeSync: (p: Buffer) => void): number {
    const dir = this.inodes.get(req.h.nodeid);
    const [name] = readName(req.arg, 0);
    const path = this.child(dir, name);
    const at = {
      op: "unlink", via, unique: Number(req.h.unique), pid: req.h.pid, parent: dir.nodeid, name: name.toString(), path: this.relChild(dir, name),
      ...this.entryIdentity(path),
    } as const;
    return this.recordedChange(at, () => removeSync(path));
  }

  /** The nodeid (0 when never handed out), st_dev and st_ino of the entry at `path`, before a change to it. */
  private entryIdentity(path: Buffer): { nodeid: number; dev: number; ino: number } {
    const st = lstatSync(path, { bigint: true, throwIfNoEntry: false });
    if (st === undefined) return { nodeid: 0, dev: 0, ino: 0 };
    return { nodeid: this.inodes.findBacking(st.dev, st.ino)?.nodeid ?? 0, dev: Number(st.dev), ino: Number(st.ino) };
  }

  /** Makes the change and records it, with the error the request fails with if it throws. */
  private recordedChange(at: RecordFields, change: () => void): number {
    try {
      change();
    } catch (e) {
      this.recorder.emit({ ...at, error: replyErrorOf(e) });
      throw e;
    }
    this.recorder.emit(at);
    return 0;
  }

  /** RENAME and RENAME2. RENAME_NOREPLACE is checked, then renamed (atomic as far as requests through the mount go). */
  rename(req: Request, v2: boolean): number {
    const a = decodeRenameIn(req.arg, v2);
    const dir = this.inodes.get(req.h.nodeid);
    const newdir = this.inodes.get(a.newdir);
    const from = this.child(dir, a.oldname);
    const to = this.child(newdir, a.newname);
    const at = {
      op: "rename", unique: Number(req.h.unique), pid: req.h.pid, parent: dir.nodeid, name: a.oldname.toString(), path: this.relChild(dir, a.oldname),
      new_parent: newdir.nodeid, new_name: a.newname.toString(), new_path: this.relChild(newdir, a.newname), rename_flags: a.flags,
      ...this.entryIdentity(from),
    } as const;
    return this.recordedChange(at, () => {
      if (a.flags & RENAME_EXCHANGE || a.flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) throw new FuseError(EINVAL, "RENAME_EXCHANGE and RENAME_WHITEOUT are not supported");
      if (a.flags & RENAME_NOREPLACE && lstatSync(to, { throwIfNoEntry: false }) !== undefined) throw new FuseError(EEXIST);
      renameSync(from, to);
    });
  }

  readlink(req: Request, out: Buffer): number {
    const target = readlinkSync(this.realPath(this.inodes.get(req.h.nodeid)), { encoding: "buffer" });
    return target.copy(out, 0);
  }

  // ---- attributes -------------------------------------------------------------------------------------------

  /** fstat of the open file when the kernel names one (fstat(2) of an unlinked file), else of the inode. */
  getattr(req: Request, out: Buffer): number {
    const a = decodeGetattrIn(req.arg);
    const file = a.flags & FUSE_GETATTR_FH ? this.handles.findFile(a.fh) : undefined;
    const st = file ? fstatSync(file.fd, { bigint: true }) : this.fstat(this.inodes.get(req.h.nodeid));
    return encodeAttrOut(out, 0, this.config.attrTimeout, st);
  }

  /**
   * chmod, chown, truncate and utimens, each only when `valid` says so. Symlinks are changed by path (l*), others
   * through the O_PATH descriptor. Times pass through Node as double seconds: sub-microsecond digits may round.
   */
  setattr(req: Request, out: Buffer): number {
    const a = decodeSetattrIn(req.arg);
    const inode = this.inodes.get(req.h.nodeid);
    const file = a.valid & FATTR_FH ? this.handles.findFile(a.fh) : undefined;
    const isLink = inode.type === S_IFLNK;
    const path = isLink ? this.realPath(inode) : this.self(inode);
    if (a.valid & FATTR_MODE && !isLink) chmodSync(path, a.mode & 0o7777);
    if (a.valid & (FATTR_UID | FATTR_GID)) {
      lchownSync(path, a.valid & FATTR_UID ? a.uid : -1, a.valid & FATTR_GID ? a.gid : -1);
    }
    if (a.valid & FATTR_SIZE) {
      if (file && (file.flags & 3) !== O_RDONLY) ftruncateSync(file.fd, a.size);
      else truncateSync(path, a.size);
    }
    if (a.valid & (FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW)) {
      const now = Date.now() / 1000;
      const st = this.fstat(inode);
      const seconds = (ns: bigint) => Number(ns) / 1e9;
      const atime = a.valid & FATTR_ATIME_NOW ? now : a.valid & FATTR_ATIME ? seconds(a.atimeNs) : seconds(st.atimeNs);
      const mtime = a.valid & FATTR_MTIME_NOW ? now : a.valid & FATTR_MTIME ? seconds(a.mtimeNs) : seconds(st.mtimeNs);
      (isLink ? lutimesSync : utimesSync)(path, atime, mtime);
    }
    return encodeAttrOut(out, 0, this.config.attrTimeout, file ? fstatSync(file.fd, { bigint: true }) : this.fstat(inode));
  }

  access(req: Request): number {
    accessSync(this.self(this.inodes.get(req.h.nodeid)), decodeAccessIn(req.arg));
    return 0;
  }

  statfs(_req: Request, out: Buffer): number {
    const s = statfsSync(this.inodes.rootPath);
    return encodeStatfsOut(out, 0, {
      blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree, bsize: s.bsize, namelen: 255, frsize: s.bsize,
    });
  }

  // ---- directories ------------------------------------------------------------------------------------------

  opendir(req: Request, out: Buffer): number {
    const dir = this.handles.addDir(this.inodes.get(req.h.nodeid));
    return encodeOpenOut(out, 0, dir.fh, 0, 0);
  }

  /** READDIR: entries from `offset` (an index into the snapshot) as long as they fit in `size`. */
  readdir(req: Request, out: Buffer): number {
    const a = decodeReadIn(req.arg);
    const dir = this.handles.dir(a.fh);
    if (a.offset === 0 || dir.entries === null) dir.entries = this.list(dir.inode);
    const limit = Math.min(a.size, out.length);
    let n = 0;
    for (let i = a.offset; i < dir.entries.length; i++) {
      const e = dir.entries[i];
      const size = encodeDirent(out, n, limit, e.ino, i + 1, e.type, e.name);
      if (size === 0) break;
      n += size;
    }
    return n;
  }

  /** The directory's entries with "." and "..", each lstat'ed for its inode number (d_ino must not be 0). */
  private list(inode: Inode): DirEntry[] {
    const base = this.self(inode);
    const names = [Buffer.from("."), Buffer.from(".."), ...readdirSync(base, { encoding: "buffer" })];
    const entries: DirEntry[] = [];
    for (const name of names) {
      const st = lstatSync(Buffer.concat([Buffer.from(`${base}/`), name]), { bigint: true, throwIfNoEntry: false });
      if (st !== undefined) entries.push({ ino: st.ino, type: dtype(Number(st.mode)), name });
    }
    return entries;
  }

  releasedir(req: Request): number {
    this.handles.remove(decodeReleaseIn(req.arg).fh);
    return 0;
  }

  fsyncdir(): number {
    return 0;
  }

  /** Daemon exit: every descriptor it holds. */
  close(): void {
    for (const h of this.handles.files()) if (h.kind === "file") closeSync(h.fd);
    this.inodes.closeAll();
  }
}

