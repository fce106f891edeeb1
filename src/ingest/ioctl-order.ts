// Backing ids by order: a daemon strace that traced the FUSE_DEV_IOC_BACKING_OPEN ioctls but not the /dev/fuse reads
// and writes (`strace -e trace=ioctl,openat,close,…`) does not say which request an ioctl served. A daemon that
// registers in its open handler (one id per open: fuser, Android's FuseDaemon, passthrough_hp --backing-per-open)
// makes its ioctl after it read the OPEN/CREATE and before it wrote the reply. libfuse's `-d` log prints no thread
// id and no time, so the only order the two files share is this: an open the log shows in flight alone (no other
// OPEN/CREATE between its request and its reply) made the next ioctl. Opens in flight at once (a busy period of the
// log) made the next ioctls in some order; there the backing fd's path (the file the thread opened just before the
// ioctl) decides where the log names the file (high-level logs) or where an earlier certain open of the same nodeid
// named it. What still cannot be decided is given in the ioctls' order and counted (`ambiguous_ids`), never silent;
// when the counts of ioctls and successful open replies differ, no id is given at all.
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
  const pending = new Map<string, Omit<OpenReply, "unique">>();
  let busy = 0;
  let latest: Omit<OpenReply, "unique"> | undefined;
  for await (const text of readLines(log)) {
    const l = parseLine(text);
    if (l.kind === "request" && (l.opcode === "OPEN" || l.opcode === "CREATE")) {
      if (pending.size === 0) busy++;
      const open = l.opcode === "OPEN";
      latest = { opcode: open ? FUSE_OPEN : FUSE_CREATE, nodeid: open ? l.nodeid : null, busy };
      pending.set(l.unique, latest);
    } else if ((l.kind === "open" || l.kind === "create") && latest !== undefined) {
      latest.path = l.path;
    } else if (l.kind === "reply") {
      const req = pending.get(l.unique);
      if (req === undefined) continue;
      pending.delete(l.unique);
      if (l.error === 0) out.push({ unique: l.unique, ...req });
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
 * One busy period: `opens` in reply order made `ioctls` in some order. An open whose file is known (the log's path,
 * or its nodeid's from an earlier certain open) takes the one ioctl of that file when no other open of the period
 * is known to be that file; one open left takes the one ioctl left; the rest go in the ioctls' order, not certain.
 */
function pairGroup(opens: OpenReply[], ioctls: BackingIoctl[], nodeidPath: Map<string, string>): Map<OpenReply, { io: BackingIoctl; certain: boolean }> {
  const fits = (o: OpenReply, io: BackingIoctl): boolean | undefined => {
    const path = io.file?.path;
    if (path === undefined) return undefined;
    if (o.path !== undefined) return path === o.path || path.endsWith(o.path);
    const known = o.nodeid === null ? undefined : nodeidPath.get(o.nodeid);
    return known === undefined ? undefined : known === path;
  };
  const out = new Map<OpenReply, { io: BackingIoctl; certain: boolean }>();
  const left = new Set(ioctls);
  for (const o of opens) {
    if (opens.length === 1) break;
    const mine = ioctls.filter((io) => fits(o, io) === true);
    if (mine.length !== 1 || !left.has(mine[0]) || opens.some((p) => p !== o && fits(p, mine[0]) === true)) continue;
    out.set(o, { io: mine[0], certain: true });
    left.delete(mine[0]);
  }
  const rest = [...left].sort((a, b) => a.id - b.id);
  const restOpens = opens.filter((o) => !out.has(o));
  restOpens.forEach((o, i) => out.set(o, { io: rest[i], certain: restOpens.length === 1 && fits(o, rest[i]) !== false }));
  return out;
}
