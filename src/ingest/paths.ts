// Which file a fuse path names, as the log goes on. A "file object" is one version of one file: a new one starts
// when a path is created, or truncated by an open with O_TRUNC; RENAME moves it (over whatever the target named),
// LINK gives it another name, UNLINK removes a name. Object ids are handed out in log order, so two passes over
// the same log number the objects alike: the first pass learns where each object ends up (its path when the log
// ends, or null when it was removed or replaced), which is where its bytes can be found in the source directory
// at ingest time.

import { splitPaths, type LogLine } from "./parse.js";

interface FileObject {
  id: number;
  paths: Set<string>;
}

export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;

export class PathTracker {
  private readonly byPath = new Map<string, FileObject>();
  private readonly objects: FileObject[] = [];

  /** A successful request's unlink, rename or link line. */
  apply(op: LogLine): void {
    if (op.kind === "unlink") return this.unlink(op.path);
    if (op.kind !== "rename" && op.kind !== "link") return;
    const two = splitPaths(op.paths, (p) => this.has(p));
    if (two === undefined) return;
    if (op.kind === "link") this.link(two[0], two[1]);
    else this.rename(two[0], two[1], op.flags);
  }

  has(path: string): boolean {
    return this.byPath.has(path);
  }

  /** The object `path` names now, a new one if the log has not named it before. */
  object(path: string): number {
    return (this.byPath.get(path) ?? this.fresh(path)).id;
  }

  /** `path` now names new content (CREATE, or an open with O_TRUNC): a new object. */
  replace(path: string): number {
    this.unlink(path);
    return this.fresh(path).id;
  }

  unlink(path: string): void {
    const old = this.byPath.get(path);
    if (old === undefined) return;
    old.paths.delete(path);
    this.byPath.delete(path);
  }

  link(from: string, to: string): void {
    const obj = this.byPath.get(from) ?? this.fresh(from);
    this.unlink(to);
    obj.paths.add(to);
    this.byPath.set(to, obj);
  }

  /** Moves `from` and, when it is a directory, every path below it. */
  rename(from: string, to: string, flags: number): void {
    if ((flags & RENAME_EXCHANGE) !== 0) {
      const a = this.take(from);
      const b = this.take(to);
      this.put(to, a);
      this.put(from, b);
      return;
    }
    const moved = this.take(from);
    this.take(to); // the target's old contents are gone (or, for a directory target, it was empty)
    this.put(to, moved);
  }

  /** Final path of every object, by id: null when no name of it survives the log. */
  finalPaths(): (string | null)[] {
    return this.objects.map((o) => (o.paths.size === 0 ? null : [...o.paths][0]));
  }

  private fresh(path: string): FileObject {
    const obj: FileObject = { id: this.objects.length, paths: new Set([path]) };
    this.objects.push(obj);
    this.byPath.set(path, obj);
    return obj;
  }

  /** Removes `path` and the paths below it; returns them relative to `path` ("" for itself) with their objects. */
  private take(path: string): [string, FileObject][] {
    const out: [string, FileObject][] = [];
    const prefix = path.endsWith("/") ? path : `${path}/`;
    for (const [p, obj] of this.byPath) {
      if (p === path || p.startsWith(prefix)) out.push([p.slice(path.length), obj]);
    }
    for (const [rel, obj] of out) {
      obj.paths.delete(path + rel);
      this.byPath.delete(path + rel);
    }
    return out;
  }

  private put(path: string, entries: [string, FileObject][]): void {
    for (const [rel, obj] of entries) {
      obj.paths.add(path + rel);
      this.byPath.set(path + rel, obj);
    }
  }
}
