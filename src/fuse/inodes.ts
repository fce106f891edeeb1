// The daemon's inode table: nodeid → backing inode, like libfuse's passthrough_hp. Each known inode keeps an
// O_PATH descriptor of its backing object, so the table follows renames and unlinks without any path bookkeeping
// (names resolve as /proc/self/fd/N/name, the *at() calls Node lacks), and the backing inode number cannot be
// reused while the kernel still knows the nodeid. Nodeids are the daemon's own: freed at the last FORGET and
// handed out again, most recently freed first (as malloc hands passthrough_hp's inode pointers back), each time
// with a new generation.
import { closeSync, fstatSync, openSync, readlinkSync, type BigIntStats } from "node:fs";
import { FUSE_ROOT_ID } from "./protocol.js";
import { FuseError, ESTALE } from "./errors.js";

/** Linux O_PATH and O_NOFOLLOW (node:fs does not export O_PATH). */
const O_PATH = 0o10000000;
const O_NOFOLLOW = 0o400000;

export interface Inode {
  readonly nodeid: number;
  readonly generation: number;
  /** O_PATH descriptor of the backing object (for a symlink: of the link itself). Changed only by rebind(). */
  fd: number;
  dev: bigint;
  ino: bigint;
  /** S_IFMT bits of the backing object. */
  readonly type: number;
  /** LOOKUP, CREATE, MKDIR, MKNOD, SYMLINK and LINK replies count up; FORGET counts down. */
  nlookup: number;
}

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;

const keyOf = (dev: bigint, ino: bigint) => `${dev}:${ino}`;

export class InodeTable {
  private readonly byNodeid = new Map<number, Inode>();
  private readonly byBacking = new Map<string, Inode>();
  /** Freed nodeids, reused last in, first out. */
  private readonly free: number[] = [];
  private nextNodeid = FUSE_ROOT_ID + 1;
  private nextGeneration = 1;
  readonly root: Inode;
  /** The source directory's real path: /proc/self/fd links resolve below it. */
  readonly rootPath: string;

  constructor(source: string) {
    const fd = openSync(source, O_PATH);
    const st = fstatSync(fd, { bigint: true });
    this.root = { nodeid: FUSE_ROOT_ID, generation: 0, fd, dev: st.dev, ino: st.ino, type: Number(st.mode) & S_IFMT, nlookup: 1 };
    this.rootPath = readlinkSync(`/proc/self/fd/${fd}`);
    this.byNodeid.set(FUSE_ROOT_ID, this.root);
    this.byBacking.set(keyOf(st.dev, st.ino), this.root);
  }

  get size(): number {
    return this.byNodeid.size;
  }

  /** The inode of a nodeid the kernel names; ESTALE when the daemon does not know it (forgotten, or never given). */
  get(nodeid: number): Inode {
    const inode = this.byNodeid.get(nodeid);
    if (inode === undefined) throw new FuseError(ESTALE, `unknown nodeid ${nodeid}`);
    return inode;
  }

  find(nodeid: number): Inode | undefined {
    return this.byNodeid.get(nodeid);
  }

  /** The known inode of a backing object, if any. */
  findBacking(dev: bigint, ino: bigint): Inode | undefined {
    return this.byBacking.get(keyOf(dev, ino));
  }

  /**
   * The entry `path` (an lstat of it is `st`) as the kernel will know it after this reply: the known inode of that
   * backing object, or a new one; its lookup count goes up by one either way.
   */
  reference(path: string | Buffer, st: BigIntStats): Inode {
    let inode = this.findBacking(st.dev, st.ino);
    if (inode === undefined) {
      const fd = openSync(path, O_PATH | O_NOFOLLOW);
      const now = fstatSync(fd, { bigint: true });
      if (now.dev !== st.dev || now.ino !== st.ino) {
        // Replaced between the lstat and the open: describe what the descriptor holds.
        closeSync(fd);
        return this.reference(path, now);
      }
      inode = { nodeid: this.allocate(), generation: this.nextGeneration++, fd, dev: st.dev, ino: st.ino, type: Number(st.mode) & S_IFMT, nlookup: 0 };
      this.byNodeid.set(inode.nodeid, inode);
      this.byBacking.set(keyOf(st.dev, st.ino), inode);
    }
    if (inode !== this.root) inode.nlookup++;
    return inode;
  }

  /** FORGET: drops `n` lookups; at zero the nodeid is free and the backing object let go. Returns the inode freed. */
  forget(nodeid: number, n: number): Inode | undefined {
    const inode = this.byNodeid.get(nodeid);
    if (inode === undefined || inode === this.root) return undefined;
    inode.nlookup = Math.max(0, inode.nlookup - n);
    if (inode.nlookup > 0) return undefined;
    closeSync(inode.fd);
    this.byNodeid.delete(nodeid);
    this.byBacking.delete(keyOf(inode.dev, inode.ino));
    this.release(nodeid);
    return inode;
  }

  /**
   * Points a known inode at another backing file (`path`), keeping its nodeid: a scenario action (actions.ts)
   * replacing the file under the daemon while the kernel keeps the inode. The old backing object is let go.
   */
  rebind(inode: Inode, path: string): void {
    const fd = openSync(path, O_PATH | O_NOFOLLOW);
    const st = fstatSync(fd, { bigint: true });
    const other = this.findBacking(st.dev, st.ino);
    if (other !== undefined && other !== inode) {
      closeSync(fd);
      throw new Error(`rebind: ${path} is already nodeid ${other.nodeid}`);
    }
    this.byBacking.delete(keyOf(inode.dev, inode.ino));
    closeSync(inode.fd);
    inode.fd = fd;
    inode.dev = st.dev;
    inode.ino = st.ino;
    this.byBacking.set(keyOf(st.dev, st.ino), inode);
  }

  /** Closes every O_PATH descriptor (daemon exit). */
  closeAll(): void {
    for (const inode of this.byNodeid.values()) closeSync(inode.fd);
    this.byNodeid.clear();
    this.byBacking.clear();
  }

  private allocate(): number {
    return this.free.pop() ?? this.nextNodeid++;
  }

  private release(nodeid: number): void {
    this.free.push(nodeid);
  }
}
