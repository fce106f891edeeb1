// A kernel-side capture (`fbreplay capture`: the loader's binary records, capture/record.h) as the records of a
// daemon (src/fuse/records.ts), so that one writer (writeNativeCapture) makes the trace of both. What the kernel
// shows and the daemon's own records do not need: the pairing of each request with its reply by `unique`, and the
// verdict of each open from the opener's own syscall return (FBC_VERDICT). What it does not show:
// - FORGET and BATCH_FORGET (queued outside struct fuse_req): an inode instance ends where a LOOKUP or CREATE
//   reply gives its nodeid another generation or inode number, and a FORGET row is written there;
// - the bytes of a backing file: the capture hashes each registration's fd while the daemon holds it (`digests`);
//   one it could not read gets a digest of its own per backing inode.
import { closeSync, openSync, readSync } from "node:fs";
import { FOPEN_PASSTHROUGH } from "../abi.js";
import { FUSE, KIND, RECORD_SIZE, decodeRecord, userDev, type CaptureRecord } from "../capture/layout.js";
import type { DaemonRecord, DaemonRecordOp } from "../fuse/records.js";
import { ownDigest } from "../digest.js";

export class CaptureError extends Error {}

/** Trace ids of registrations made before the capture started: PREEXISTING_ID + the kernel's id. */
export const PREEXISTING_ID = 0x40000000;

export interface CaptureDecodeStats {
  /** Records the ring buffer had no room for (the loader's DONE record): the trace is then incomplete. */
  lost: number;
  /** Whether the loader's DONE record is there (a capture cut short has none). */
  done: boolean;
  /** Replies whose request the capture did not see (sent before it started). */
  unpaired_replies: number;
  /** FORGET rows inferred from a nodeid's new generation or inode number. */
  inferred_forgets: number;
  /** Registrations whose bytes could not be read while the daemon held them. */
  unhashed_backing: number;
  /**
   * The kernel's ids minus the trace's. The kernel allocates ids cyclically from 1 on each connection (spec §a);
   * a capture that starts later on a connection sees its first id higher, and the trace's ids are shifted so that
   * they start at 1 as the model's idr does (the kernel's id = the trace's + this).
   */
  backing_id_offset: number;
  /** Passthrough opens with an id registered before the capture started (their bytes and inode are unknown). */
  preexisting_ids: number;
}

/** A BACKING_OPEN record's key in a capture's digests: its time stamp and the id the kernel returned. */
export function digestKey(r: CaptureRecord): string {
  return `${r.t_ns}:${r.error}`;
}

/** The raw records of a capture file, in blocks; a file cut inside a record is bad input. */
export function* captureRecords(path: string): Generator<CaptureRecord> {
  const fd = openSync(path, "r");
  const buf = Buffer.allocUnsafe(RECORD_SIZE * 4096);
  let offset = 0;
  try {
    let have = 0;
    for (let n; (n = readSync(fd, buf, have, buf.length - have, null)) > 0;) {
      have += n;
      const whole = have - (have % RECORD_SIZE);
      for (let at = 0; at < whole; at += RECORD_SIZE) yield decodeRecord(buf, at);
      buf.copy(buf, 0, whole, have);
      have -= whole;
      offset += whole;
    }
    if (have !== 0) throw new CaptureError(`${path}: byte ${offset}: a record cut short (${have} of ${RECORD_SIZE} bytes): truncated capture`);
  } finally {
    closeSync(fd);
  }
}

/** An open with no verdict this long after its reply is placed at its reply. */
const NO_VERDICT_AFTER_NS = 2e9;

interface AwaitingOpen {
  end: CaptureRecord;
  op: DaemonRecordOp;
  fields: Partial<DaemonRecord>;
}

interface Instance {
  id: number;
  generation: number;
  ino: number;
}

/**
 * The capture's records as daemon records (read again on every call: the trace writer reads them twice). `digests`:
 * sha256 (hex) of the backing file of each BACKING_OPEN, by digestKey.
 */
export function daemonRecordsOf(path: string, digests: ReadonlyMap<string, string>, stats?: CaptureDecodeStats): () => Iterable<DaemonRecord> {
  return function* () {
    const s: CaptureDecodeStats = {
      lost: 0, done: false, unpaired_replies: 0, inferred_forgets: 0, unhashed_backing: 0, backing_id_offset: 0, preexisting_ids: 0,
    };
    let offset = -1;
    /** The trace's id of a kernel id (ids from before the capture: far above any the model hands out). */
    const traceId = (id: number): number => (offset < 0 || id <= offset ? PREEXISTING_ID + id : id - offset);
    /** Requests waiting for their reply, by unique. */
    const sent = new Map<number, CaptureRecord>();
    /** Kernel nodeids (daemon pointers, often) as small dense ids, with the instance each names now. */
    const nodes = new Map<number, Instance>();
    /** The registered backing file behind each live id, and registrations not yet used by an open. */
    const idFile = new Map<number, { dev: number; ino: number; sha256: string }>();
    /** Opens answered, waiting for the opener's syscall to return; the releases that came meanwhile. */
    const awaiting = new Map<number, AwaitingOpen>();
    const awaitingFh = new Map<number, number>();
    function* emitOpen(unique: number, open: AwaitingOpen, at: CaptureRecord): Generator<DaemonRecord> {
      awaiting.delete(unique);
      awaitingFh.delete(open.fields.fh!);
      yield record(open.op, { ...at, unique }, open.fields);
    }
    const flushed = new Set<number>();
    let seq = 0;
    const record = (op: DaemonRecordOp, r: CaptureRecord, f: Partial<DaemonRecord>): DaemonRecord => ({
      seq: seq++, op, unique: r.unique, nodeid: 0, fh: 0, pid: r.pid, flags: 0, fopen: 0, backing_id: 0, dev: 0, ino: 0,
      sha256: "", name: "", path: "", error: 0, t_ns: r.t_ns, epoch: 0, ...f,
    });
    const dense = (nodeid: number): number => {
      let n = nodes.get(nodeid);
      if (n === undefined) {
        n = { id: nodes.size + 1, generation: -1, ino: -1 };
        nodes.set(nodeid, n);
      }
      return n.id;
    };
    /** A LOOKUP or CREATE reply names `nodeid` as (generation, ino): another instance than before ends the old one. */
    function* entry(r: CaptureRecord): Generator<DaemonRecord> {
      const id = dense(r.nodeid);
      const n = nodes.get(r.nodeid)!;
      if (n.generation >= 0 && (n.generation !== r.generation || n.ino !== r.ino)) {
        s.inferred_forgets++;
        yield record("forget", r, { nodeid: id, pid: 0 });
      }
      n.generation = r.generation;
      n.ino = r.ino;
    }

    for (const r of captureRecords(path)) {
      // An open whose opener never returned from a syscall (a kernel thread's open): placed after its reply.
      for (const [unique, open] of awaiting) {
        if (r.t_ns - open.end.t_ns < NO_VERDICT_AFTER_NS) break;
        yield* emitOpen(unique, open, open.end);
      }
      switch (r.kind) {
        case KIND.SEND:
          switch (r.opcode) {
            case FUSE.OPEN: case FUSE.CREATE: case FUSE.LOOKUP: sent.set(r.unique, r); break;
            case FUSE.FLUSH: flushed.add(r.fh); break;
            case FUSE.RELEASE: {
              const release = (): DaemonRecord => record("release", r, { nodeid: dense(r.nodeid), fh: r.fh, flags: r.flags, flushed: flushed.delete(r.fh) });
              // A RELEASE while the opener is still inside its open(2): the kernel refused the open after the reply
              // and released the file at once (spec §b.3), so its check came right before this. The open goes here,
              // not at the opener's return: whatever the daemon does on this release (closing the open's backing id)
              // and every open checked later come after it, as in the kernel.
              const unique = awaitingFh.get(r.fh);
              if (unique !== undefined) yield* emitOpen(unique, awaiting.get(unique)!, r);
              yield release();
              break;
            }
            case FUSE.UNLINK: yield record("unlink", r, { nodeid: 0, parent: dense(r.nodeid), name: r.name }); break;
            case FUSE.RENAME: case FUSE.RENAME2: yield record("rename", r, { parent: dense(r.nodeid), name: r.name }); break;
          }
          break;
        case KIND.END: {
          const req = sent.get(r.unique);
          if (req === undefined) {
            if (r.opcode === FUSE.OPEN || r.opcode === FUSE.CREATE || r.opcode === FUSE.LOOKUP) s.unpaired_replies++;
            break;
          }
          sent.delete(r.unique);
          if (r.opcode === FUSE.LOOKUP) {
            if (r.error === 0) {
              yield* entry(r);
              yield record("lookup", r, { nodeid: dense(r.nodeid), pid: req.pid, parent: dense(req.nodeid), name: req.name });
            }
            break;
          }
          // OPEN or CREATE
          if (r.error === 0 && r.opcode === FUSE.CREATE) yield* entry(r);
          const nodeid = r.error !== 0 ? 0 : dense(r.opcode === FUSE.CREATE ? r.nodeid : req.nodeid);
          const op = r.opcode === FUSE.CREATE ? "create" : "open";
          if (r.error !== 0) {
            yield record(op, r, { pid: req.pid, flags: req.flags, error: r.error });
            break;
          }
          const bid = (r.open_flags & FOPEN_PASSTHROUGH) !== 0 ? traceId(r.backing_id) : 0;
          if (bid >= PREEXISTING_ID) s.preexisting_ids++;
          const file = idFile.get(bid) ?? unregistered(bid, nodes.get(r.opcode === FUSE.CREATE ? r.nodeid : req.nodeid)!);
          flushed.delete(r.fh);
          // The daemon hands an fh out again only after its release: an open still waiting with this fh was
          // released, so the kernel checked it before this reply (its RELEASE placed it already, unless the capture
          // lost that record). It goes first.
          const before = awaiting.get(awaitingFh.get(r.fh) ?? -1);
          if (before !== undefined) yield* emitOpen(awaitingFh.get(r.fh)!, before, r);
          // The kernel checks the reply in the opener's context once it wakes up, and the opener's syscall returns
          // right after: the open takes its place at the verdict (or here, if no verdict comes).
          awaiting.set(r.unique, {
            end: r,
            fields: { nodeid, fh: r.fh, pid: req.pid, flags: req.flags, fopen: r.open_flags, backing_id: bid, ...file, name: req.name },
            op,
          });
          awaitingFh.set(r.fh, r.unique);
          break;
        }
        case KIND.BACKING_OPEN: {
          if (r.error <= 0) break; // refused: the daemon's reply cannot name it
          if (offset < 0) offset = s.backing_id_offset = r.error - 1;
          const id = traceId(r.error);
          let sha256 = digests.get(digestKey(r));
          if (sha256 === undefined) {
            s.unhashed_backing++;
            sha256 = Buffer.from(ownDigest(`fbreplay capture: bytes not read: ${r.dev}:${r.ino}`)).toString("hex");
          }
          const file = { dev: userDev(r.dev), ino: r.ino, sha256 };
          idFile.set(id, file);
          // In the kernel's order: the model's idr must hand out the same ids.
          yield record("backing_open", r, { backing_id: id, ...file, pid: 0 });
          break;
        }
        case KIND.BACKING_CLOSE: {
          if (r.error !== 0) break;
          const id = traceId(r.backing_id);
          idFile.delete(id);
          yield record("backing_close", r, { backing_id: id, pid: 0 });
          break;
        }
        case KIND.VERDICT: {
          const open = awaiting.get(r.unique);
          if (open !== undefined) yield* emitOpen(r.unique, open, r);
          yield record("verdict", r, { error: r.error });
          break;
        }
        case KIND.DONE:
          s.done = true;
          s.lost = r.lost;
          break;
      }
    }
    for (const [unique, open] of awaiting) yield* emitOpen(unique, open, open.end);
    if (stats !== undefined) Object.assign(stats, s);
  };
}

/**
 * The identity of an open whose backing file the capture did not see registered (a daemon without passthrough, or
 * an id registered before the capture started): the inode number the daemon reported for the nodeid, bytes unknown.
 */
function unregistered(bid: number, n: Instance): { dev: number; ino: number; sha256: string } {
  const label = bid > 0 ? `backing id ${bid} registered before the capture, inode ${n.ino}` : `inode ${n.ino} generation ${n.generation}`;
  return { dev: 0, ino: Math.max(n.ino, 0), sha256: Buffer.from(ownDigest(`fbreplay capture: ${label}`)).toString("hex") };
}
