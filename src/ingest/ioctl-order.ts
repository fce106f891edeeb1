// Backing ids by order: a daemon strace that traced the FUSE_DEV_IOC_BACKING_OPEN ioctls but not the /dev/fuse reads
// and writes (`strace -e trace=ioctl,openat,close,…`) does not say which request an ioctl served. A daemon that
// registers in its open handler (one id per open: fuser, Android's FuseDaemon, passthrough_hp --backing-per-open)
// makes its ioctl after it read the OPEN/CREATE and before it wrote the reply. libfuse's `-d` log prints no thread
// id and no time, so what the two files share is order: an open the log shows in flight alone (no other OPEN/CREATE
// between its request and its reply) made the next ioctl. Opens in flight at once (a busy period of the log) made
// the next ioctls in some order, which three things narrow (pairGroup): the log's order where their intervals do not
// overlap, each daemon thread's order (a libfuse worker handles one request from read to reply, so a thread's two
// ioctls served two opens one after the other), and the backing fd's file (the one the thread opened just before the
// ioctl) where the log names the open's file (high-level logs) or an earlier certain open of the same nodeid named
// it. What still cannot be decided is given in the first pairing that fits and counted (`ambiguous_ids`), never
// silent; when the counts of ioctls and successful open replies differ, no id is given at all.
import type { BackingIoctl, DaemonRequest } from "./daemon-strace.js";
import { FUSE_CREATE, FUSE_OPEN } from "./daemon-strace.js";
import { readLines } from "./lines.js";
import { parseLine } from "./parse.js";

/** A successful OPEN/CREATE reply of the log, in reply order, with the busy period it was in flight in. */
interface OpenReply {
  unique: string;
  opcode: number;
  /** OPEN: the header's nodeid; CREATE: unknown (the header names the parent). */
  nodeid: string | null;
  /** High-level logs: the fuse path of `open flags: … /path`. */
  path?: string;
  busy: number;
  /** Line numbers of its request and its reply in the log. */
  request: number;
  reply: number;
}

export interface IdsByOrder {
  /** Per unique, what the daemon did: the ioctl's id as registration and reply id, and the file it registered. */
  requests: Map<string, DaemonRequest>;
  /** Opens whose id the order decided, and opens given an id that the order could not decide. */
  certain: number;
  ambiguous: number;
  /** Why no id was given at all (the counts differ), else undefined. */
  undecided?: string;
}

/** The log's successful OPEN/CREATE replies, each with its busy period (a maximal stretch with an open in flight). */
export async function openReplies(log: string): Promise<OpenReply[]> {
  const out: OpenReply[] = [];
  const pending = new Map<string, Omit<OpenReply, "unique" | "reply">>();
  let busy = 0;
  let latest: Omit<OpenReply, "unique" | "reply"> | undefined;
  let lineNo = 0;
  for await (const text of readLines(log)) {
    lineNo++;
    const l = parseLine(text);
    if (l.kind === "request" && (l.opcode === "OPEN" || l.opcode === "CREATE")) {
      if (pending.size === 0) busy++;
      const open = l.opcode === "OPEN";
      latest = { opcode: open ? FUSE_OPEN : FUSE_CREATE, nodeid: open ? l.nodeid : null, busy, request: lineNo };
      pending.set(l.unique, latest);
    } else if ((l.kind === "open" || l.kind === "create") && latest !== undefined && pending.size === 1) {
      // Only where one open is in flight is it certain whose line this is.
      latest.path = l.path;
    } else if (l.kind === "reply") {
      const req = pending.get(l.unique);
      if (req === undefined) continue;
      pending.delete(l.unique);
      if (l.error === 0) out.push({ unique: l.unique, ...req, reply: lineNo });
    }
  }
  return out;
}

/** Pairs the log's open replies with the strace's BACKING_OPEN ioctls (module comment). */
export function pairByOrder(replies: OpenReply[], ioctls: BackingIoctl[]): IdsByOrder {
  const requests = new Map<string, DaemonRequest>();
  if (replies.length !== ioctls.length) {
    return {
      requests, certain: 0, ambiguous: replies.length,
      undecided: `${ioctls.length} BACKING_OPEN ioctls for ${replies.length} successful OPEN/CREATE replies: the order cannot pair them`,
    };
  }
  const nodeidPath = new Map<string, string>();
  const r = { requests, certain: 0, ambiguous: 0 };
  for (let at = 0; at < replies.length;) {
    let end = at + 1;
    while (end < replies.length && replies[end].busy === replies[at].busy) end++;
    const opens = replies.slice(at, end);
    const paired = pairGroup(opens, ioctls.slice(at, end), nodeidPath);
    // The registrations go before the period's first open, in the ioctls' order (the kernel's idr hands ids out
    // in that order), each with its own file; each open's reply names the id paired with it.
    const inOrder = [...paired.values()].map((p) => p.io).sort((a, b) => a.id - b.id);
    opens.forEach((o, k) => {
      const { io, certain } = paired.get(o)!;
      const registered = k === 0 ? inOrder : [];
      requests.set(o.unique, {
        opcode: o.opcode, error: 0, backingId: io.id, file: io.file, closes: 0,
        registered: registered.map((x) => x.id), registeredFiles: registered.map((x) => x.file),
      });
      if (certain) r.certain++;
      else r.ambiguous++;
      if (certain && o.nodeid !== null && io.file !== undefined) nodeidPath.set(o.nodeid, io.file.path);
    });
    at = end;
  }
  return r;
}

/**
 * Busy periods up to this many opens are decided by trying the pairings (at most 6! = 720, and the search stops once
 * no open can be certain any more); longer ones go by order, not certain.
 */
const MAX_PERMUTED = 6;

type Pairing = Map<OpenReply, { io: BackingIoctl; certain: boolean }>;

/**
 * One busy period: `opens` in reply order made `ioctls` (in the strace's order) in some order. A pairing is
 * possible when it keeps what is known of the order: an open replied to before another was read made its ioctl
 * first; a thread's ioctls served opens one after the other (a libfuse worker handles one request from read to
 * reply), so the earlier one's reply comes before the later one's request in the log; and an open whose file is
 * known (the log's path, or its nodeid's from an earlier certain open) took an ioctl of that file. An open is
 * certain when every possible pairing gives it the same ioctl; the first possible pairing (the ioctls' order where
 * it can) is given. With no possible pairing, or a period too long to try, the ioctls' order, not certain.
 */
function pairGroup(opens: OpenReply[], ioctls: BackingIoctl[], nodeidPath: Map<string, string>): Pairing {
  const fits = (o: OpenReply, io: BackingIoctl): boolean | undefined => {
    const path = io.file?.path;
    if (path === undefined) return undefined;
    if (o.path !== undefined) return path === o.path || path.endsWith(o.path);
    const known = o.nodeid === null ? undefined : nodeidPath.get(o.nodeid);
    return known === undefined ? undefined : known === path;
  };
  const out: Pairing = new Map();
  const k = opens.length;
  const inOrder = () => {
    const byId = [...ioctls].sort((a, b) => a.id - b.id);
    opens.forEach((o, i) => out.set(o, { io: byId[i], certain: k === 1 && fits(o, byId[i]) !== false }));
    return out;
  };
  if (k === 1 || k > MAX_PERMUTED) return inOrder();
  const before = (a: number, b: number) => opens[a].reply < opens[b].request;
  const taken: number[] = new Array<number>(k).fill(-1); // ioctl index → open index
  const mine: number[] = new Array<number>(k).fill(-1); // open index → ioctl index
  let first: number[] | undefined;
  const seen = opens.map(() => new Set<number>());
  const fitsOk = opens.map((o) => ioctls.map((io) => fits(o, io) !== false));
  let open = k; // opens still possibly certain
  const place = (o: number): void => {
    if (open === 0) return;
    if (o === k) {
      first ??= [...mine];
      mine.forEach((i, x) => {
        if (seen[x].size === 1 && !seen[x].has(i)) open--;
        seen[x].add(i);
      });
      return;
    }
    for (let i = 0; i < k; i++) {
      if (taken[i] >= 0 || !fitsOk[o][i]) continue;
      let ok = true;
      for (let p = 0; p < o && ok; p++) {
        const j = mine[p];
        // The log's order, and each thread's order, against the ioctls' order.
        if (before(p, o) && !(j < i)) ok = false;
        if (before(o, p) && !(i < j)) ok = false;
        if (ioctls[i].tid === ioctls[j].tid && !(j < i ? before(p, o) : before(o, p))) ok = false;
      }
      if (!ok) continue;
      taken[i] = o;
      mine[o] = i;
      place(o + 1);
      taken[i] = -1;
      mine[o] = -1;
    }
  };
  place(0);
  if (first === undefined) return inOrder();
  opens.forEach((o, x) => out.set(o, { io: ioctls[first![x]], certain: seen[x].size === 1 }));
  return out;
}
