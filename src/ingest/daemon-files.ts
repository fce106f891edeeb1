// The files a FUSE daemon's strace shows it holding: its fd table (strace -y prints each fd's path), its working
// directory, and each path's st_dev/st_ino from its stats (strace -v), followed through renames and unlinks. This
// is how an open reply's fh (bindfs and passthrough_hp hand out their backing fd) names the file behind it.
import { resolvePath, stringText } from "./strace-syntax.js";

/**
 * A file as the daemon saw it: its path (strace -y) and, where a stat showed them, st_dev/st_ino. `gen` counts the
 * inode numbers's reuse: a file system hands a freed inode number to the next new file, which is another file.
 */
export interface DaemonFile {
  path: string;
  dev?: number;
  ino?: number;
  gen?: number;
}

interface StatId {
  dev: number;
  ino: number;
  gen: number;
}

/** A call's fd argument: `3</src/a.txt>`, `AT_FDCWD</src>`, or without a path. */
export const FD_ARG = /^(-?\d+|AT_FDCWD)(?:<(.*)>)?$/;
export const OPENS = new Set(["open", "openat", "openat2", "creat"]);
const DUPS = new Set(["dup", "dup2", "dup3", "fcntl", "fcntl64"]);
const STATS = new Set(["stat", "lstat", "fstat", "newfstatat", "fstatat64", "stat64", "lstat64", "fstat64", "statx"]);

export class DaemonFiles {
  /** The daemon's fd table (one process; its threads share it). */
  private readonly fds = new Map<number, string>();
  /** The daemon's working directory, where strace showed it. */
  private cwd: string | undefined;
  /** st_dev/st_ino of each path, as the daemon's last stat of it showed. */
  private readonly stats = new Map<string, StatId>();
  /**
   * Per dev:ino, its generation and whether its last known name went away (unlinked or renamed over): the next
   * stat that shows it is a new file. Hard links are not counted: unlinking one of two names starts a generation.
   */
  private readonly inodes = new Map<string, { gen: number; gone: boolean }>();

  /** The file behind an open reply's `fh` when it is one of the daemon's fds, else the file named `fallback`. */
  behind(fh: bigint | undefined, fallback: string | undefined): DaemonFile | undefined {
    const path = (fh !== undefined && fh < 0x7fffffffn ? this.fds.get(Number(fh)) : undefined) ?? fallback;
    return path === undefined ? undefined : { path, ...this.stats.get(path) };
  }

  /** A system call of the daemon's that is not on /dev/fuse. `fd` is its first argument, parsed by FD_ARG. */
  syscall(name: string, args: string[], ret: number, retPath: string | undefined, fd: RegExpExecArray | null): void {
    // strace -y shows the working directory on AT_FDCWD (the loader's first openat has it); chdir moves it.
    if (fd?.[1] === "AT_FDCWD" && fd[2] !== undefined) this.cwd = fd[2];
    if (name === "chdir" && ret === 0) this.cwd = this.pathOf(undefined, args[0]);
    if (name === "fchdir" && ret === 0) this.cwd = fd?.[2];
    if ((OPENS.has(name) || DUPS.has(name)) && ret >= 0 && retPath !== undefined) {
      this.fds.set(ret, retPath);
      return;
    }
    if (name === "close" && ret === 0 && fd) {
      this.fds.delete(Number(fd[1]));
      return;
    }
    if (STATS.has(name) && ret === 0) return this.stat(name, args, fd);
    if (ret !== 0) return;
    // A file's identity follows it through renames; an unlinked name has none.
    if (name === "rename" || name === "renameat" || name === "renameat2") {
      const [from, to] = name === "rename" ? [this.pathOf(undefined, args[0]), this.pathOf(undefined, args[1])] : [this.pathOf(args[0], args[1]), this.pathOf(args[2], args[3])];
      if (from === undefined || to === undefined) return;
      const id = this.stats.get(from);
      this.stats.delete(from);
      const over = this.stats.get(to);
      if (over !== undefined && (id === undefined || over.dev !== id.dev || over.ino !== id.ino)) this.gone(to);
      if (id !== undefined) this.stats.set(to, id);
      else this.stats.delete(to);
    } else if (name === "unlink" || name === "unlinkat") {
      const gone = name === "unlink" ? this.pathOf(undefined, args[0]) : this.pathOf(args[0], args[1]);
      if (gone !== undefined) this.gone(gone);
    }
  }

  /**
   * The path `name` names relative to `dirfd` (`3</src>` or `AT_FDCWD</src>`; undefined: the working directory);
   * "" names the fd itself.
   */
  private pathOf(dirfd: string | undefined, name: string | undefined): string | undefined {
    const p = stringText(name ?? "");
    if (p === null) return undefined;
    const dir = p.startsWith("/") ? "/" : dirfd === undefined ? this.cwd : FD_ARG.exec(dirfd)?.[2];
    return dir === undefined ? undefined : resolvePath(dir, p);
  }

  /** The name `path` no longer names its inode. */
  private gone(path: string): void {
    const id = this.stats.get(path);
    if (id === undefined) return;
    this.stats.delete(path);
    const inode = this.inodes.get(`${id.dev}:${id.ino}`);
    if (inode !== undefined && inode.gen === id.gen) inode.gone = true;
  }

  /** Remembers st_dev/st_ino for the path the stat names: an fd's, or a name relative to a directory fd. */
  private stat(name: string, args: string[], fd: RegExpExecArray | null): void {
    let path: string | undefined;
    let struct: string | undefined;
    if (name === "fstat" || name === "fstat64") {
      path = fd?.[2];
      struct = args[1];
    } else if (name === "stat" || name === "lstat" || name === "stat64" || name === "lstat64") {
      path = this.pathOf(undefined, args[0]); // bindfs: lstat("a.txt", …) in the source directory it chdir'd to
      struct = args[1];
    } else {
      // newfstatat(dirfd, "name", {…}, flags) and statx(dirfd, "name", flags, mask, {…})
      path = this.pathOf(args[0], args[1]);
      struct = name === "statx" ? args[4] : args[2];
    }
    if (path === undefined || struct === undefined) return;
    const id = statIdentity(struct);
    if (id === null) return;
    const key = `${id.dev}:${id.ino}`;
    let inode = this.inodes.get(key);
    if (inode === undefined) this.inodes.set(key, (inode = { gen: 0, gone: false }));
    else if (inode.gone) {
      inode.gen++;
      inode.gone = false;
    }
    this.stats.set(path, { ...id, gen: inode.gen });
  }
}

/** st_dev/st_ino of a printed struct stat (`st_dev=makedev(0xfe, 0x1)`, or a number) or struct statx. */
export function statIdentity(struct: string): { dev: number; ino: number } | null {
  const ino = /\b(?:st_ino|stx_ino)=(\d+)/.exec(struct);
  if (!ino) return null;
  let dev: number | undefined;
  const mk = /\bst_dev=makedev\((0x[0-9a-f]+|\d+), (0x[0-9a-f]+|\d+)\)/.exec(struct);
  if (mk) dev = makedev(Number(mk[1]), Number(mk[2]));
  const raw = /\bst_dev=(\d+)\b/.exec(struct);
  if (dev === undefined && raw) dev = Number(raw[1]);
  const major = /\bstx_dev_major=(\d+)/.exec(struct);
  const minor = /\bstx_dev_minor=(\d+)/.exec(struct);
  if (dev === undefined && major && minor) dev = makedev(Number(major[1]), Number(minor[1]));
  if (dev === undefined) return null;
  return { dev, ino: Number(ino[1]) };
}

/** glibc's makedev: the st_dev a process (and Node's fs.stat) sees. */
export function makedev(major: number, minor: number): number {
  return Number(
    (BigInt(minor & 0xff)) | (BigInt(major & 0xfff) << 8n) | (BigInt(minor & ~0xff) << 12n) | (BigInt(major & ~0xfff) << 32n),
  );
}
