// Open files and directories of the daemon: the fh of each OPEN/CREATE/OPENDIR reply, until its release.
import type { BackingRef } from "./backing.js";
import type { Inode } from "./inodes.js";
import { EBADF, FuseError } from "./errors.js";

export interface OpenFile {
  readonly kind: "file";
  readonly fh: number;
  readonly inode: Inode;
  /** The daemon's own descriptor of the backing file (READ/WRITE when not passed through; the BACKING_OPEN fd). */
  readonly fd: number;
  /** The opener's open(2) flags. */
  readonly flags: number;
  /** The backing registration the open was answered with; null without passthrough. */
  readonly backing: BackingRef | null;
  /** sha256 (hex) of the backing file as this open found it; "" when digests are off. */
  readonly sha256: string;
  /**
   * A FLUSH came for this fh: some process had it as a descriptor and closed it. An open the kernel refused after
   * the daemon's reply never reaches a descriptor table, so its RELEASE comes unflushed.
   */
  flushed: boolean;
}

/** One directory entry as READDIR hands it out: its backing inode number, DT_* type and name bytes. */
export interface DirEntry {
  ino: bigint;
  type: number;
  name: Buffer;
}

export interface OpenDir {
  readonly kind: "dir";
  readonly fh: number;
  readonly inode: Inode;
  /** Snapshot taken by the READDIR at offset 0 (rewinddir takes a new one); READDIR offsets index it. */
  entries: DirEntry[] | null;
}

/** fh → open file or directory. Handles count up from 1 and are not reused, so records pair opens and releases by fh. */
export class HandleTable {
  private readonly handles = new Map<number, OpenFile | OpenDir>();
  private nextFh = 1;

  get size(): number {
    return this.handles.size;
  }

  addFile(f: Omit<OpenFile, "fh" | "kind" | "flushed">): OpenFile {
    const file: OpenFile = { kind: "file", fh: this.nextFh++, ...f, flushed: false };
    this.handles.set(file.fh, file);
    return file;
  }

  addDir(inode: Inode): OpenDir {
    const dir: OpenDir = { kind: "dir", fh: this.nextFh++, inode, entries: null };
    this.handles.set(dir.fh, dir);
    return dir;
  }

  file(fh: number): OpenFile {
    const h = this.handles.get(fh);
    if (h?.kind !== "file") throw new FuseError(EBADF, `no open file ${fh}`);
    return h;
  }

  dir(fh: number): OpenDir {
    const h = this.handles.get(fh);
    if (h?.kind !== "dir") throw new FuseError(EBADF, `no open directory ${fh}`);
    return h;
  }

  /** The open file `fh` if there is one (GETATTR/SETATTR may name a handle, or not). */
  findFile(fh: number): OpenFile | undefined {
    const h = this.handles.get(fh);
    return h?.kind === "file" ? h : undefined;
  }

  remove(fh: number): void {
    this.handles.delete(fh);
  }

  files(): IterableIterator<OpenFile | OpenDir> {
    return this.handles.values();
  }
}
