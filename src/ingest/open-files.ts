// The files a log holds open, and the inode instances they belong to. A daemon fh maps to a compact trace fh slot,
// reused after release (bindfs fhs are fd numbers). Low-level logs show no fh on a RELEASE: which open file it
// releases is chosen by the kernel's behaviour (spec §b.3), from the FLUSHes and the openers' later requests.
import type { Counts } from "./counts.js";

export interface Instance {
  id: number;
  /** Daemon nodeid, null for a low-level CREATE whose nodeid the log does not show (until a RELEASE binds it). */
  nodeid: string | null;
  lookups: number;
  /** Trace nodeid, -1 until the first open. */
  slot: number;
  nopen: number;
  /** nlookup reached zero; the FORGET is emitted once no file of it is open. */
  ended: boolean;
}

export interface OpenFile {
  fh: number;
  inst: Instance;
  daemonFh: string;
  /** The opener (the OPEN's header pid: a thread id). */
  pid: number;
  /** The opener made another request after this open's reply: its open returned, the kernel accepted it. */
  active: boolean;
  /** The OPEN row, while it waits for the kernel's check to be certainly done (see Machine.open). */
  row?: () => void;
  /** The order of the FLUSH this file's close sent (attributed by pid), 0 before any. */
  flushed: number;
  /** That FLUSH was answered: the closer's final fput, and so the kernel's release of the file, follows at once. */
  flushAnswered?: boolean;
  /** Released at its close, before its RELEASE line (Machine.releaseAtClose): that RELEASE adds no row. */
  releasedAtClose?: boolean;
}

export class OpenFiles {
  private readonly byFh = new Map<string, OpenFile>();
  /** Open files per daemon nodeid, oldest first: how low-level RELEASEs (no fh in the log) are matched. */
  private readonly byNodeid = new Map<string, OpenFile[]>();
  /** Files whose opener has made no request since the open's reply, by opener pid. */
  private readonly silentOpeners = new Map<number, OpenFile[]>();
  private flushes = 0;
  /** Files from low-level CREATEs, whose nodeid the log does not show, oldest first. */
  private readonly unbound: OpenFile[] = [];

  constructor(private readonly counts: Counts) {}

  get(daemonFh: string): OpenFile | undefined {
    return this.byFh.get(daemonFh);
  }

  all(): IterableIterator<OpenFile> {
    return this.byFh.values();
  }

  /** The open files of `nodeid`, oldest first. */
  of(nodeid: string): OpenFile[] {
    let list = this.byNodeid.get(nodeid);
    if (list === undefined) this.byNodeid.set(nodeid, (list = []));
    return list;
  }

  oldest(nodeid: string): OpenFile | undefined {
    return this.byNodeid.get(nodeid)?.[0];
  }

  add(file: OpenFile): void {
    if (file.pid !== 0) {
      const silent = this.silentOpeners.get(file.pid);
      if (silent === undefined) this.silentOpeners.set(file.pid, [file]);
      else silent.push(file);
    }
    this.byFh.set(file.daemonFh, file);
    if (file.inst.nodeid === null) this.unbound.push(file);
    else this.of(file.inst.nodeid).push(file);
  }

  remove(file: OpenFile): void {
    this.byFh.delete(file.daemonFh);
    const { nodeid } = file.inst;
    const list = nodeid === null ? this.unbound : this.byNodeid.get(nodeid)!;
    list.splice(list.indexOf(file), 1);
    if (list.length === 0 && nodeid !== null) this.byNodeid.delete(nodeid);
  }

  /** The oldest file from a CREATE whose nodeid was not shown, now known to be `nodeid` (a RELEASE named it). */
  bindUnbound(nodeid: string): OpenFile | undefined {
    const file = this.unbound.shift();
    if (file === undefined) return undefined;
    file.inst.nodeid = nodeid;
    this.of(nodeid).push(file);
    return file;
  }

  /** A request from `pid`: the opens it made before have returned (a refused open's RELEASE comes before that). */
  openerActive(pid: number): OpenFile[] {
    if (pid === 0) return [];
    const files = this.silentOpeners.get(pid);
    if (files === undefined) return [];
    for (const f of files) f.active = true;
    this.silentOpeners.delete(pid);
    return files;
  }

  /**
   * A FLUSH of `nodeid` by `pid` (a close of a descriptor; the log shows no fh): the file that pid opened last. A
   * FLUSH by another process is the close of an inherited descriptor (a child of the shell that holds the file
   * exiting): it says nothing about which file is released next, and is left unattributed.
   */
  flush(nodeid: string, pid: number): OpenFile | undefined {
    const file = (this.byNodeid.get(nodeid) ?? []).filter((f) => f.flushed === 0 && f.pid === pid).pop();
    if (file !== undefined) file.flushed = ++this.flushes;
    return file;
  }

  /** The files of `nodeid` the kernel still holds: not released at their close. */
  held(nodeid: string): OpenFile[] {
    return (this.byNodeid.get(nodeid) ?? []).filter((f) => f.releasedAtClose !== true);
  }

  /**
   * Which open file of `nodeid` a RELEASE without fh releases, by the kernel's behaviour (spec §b.3): a file
   * whose descriptor was closed (a FLUSH came) goes first, the earliest closed; else an open the kernel refused,
   * released before its opener's open returned: unflushed, and its opener silent since the reply. Where several
   * fit (the newest is taken), or none (the oldest), the choice is counted as ambiguous.
   */
  releasedFile(nodeid: string): OpenFile | undefined {
    const files = this.byNodeid.get(nodeid) ?? [];
    if (files.length <= 1) return files[0];
    const closed = files.filter((f) => f.flushed > 0);
    if (closed.length > 0) return closed.reduce((a, b) => (b.flushed < a.flushed ? b : a));
    // A file held open is released only after a close (a FLUSH), but a refused open at once: of the files whose
    // opener is silent, the newest. A file whose opener went quiet after opening it looks the same, hence counted.
    const refused = files.filter((f) => !f.active);
    if (refused.length !== 1) this.counts.ambiguousReleases = (this.counts.ambiguousReleases ?? 0) + 1;
    return refused.length > 0 ? refused[refused.length - 1] : files[0];
  }
}
