// A capture of fbreplay's own passthrough daemon (src/fuse: one DaemonRecord per event) as a trace. The trace keeps
// what the daemon really did, so it replays either through a modelled daemon or with the recorded ids:
// - OPEN rows carry the backing id of the daemon's reply (column `bid`) and the kernel's verdict (column `verdict`);
// - the daemon's FUSE_DEV_IOC_BACKING_OPEN / _CLOSE calls become BACKING_OPEN / BACKING_CLOSE rows, its restarts
//   RESTART rows (a restarted daemon closed its ids one by one, each a BACKING_CLOSE row, or not at all);
// - FORGET rows end inode instances the trace opened; LOOKUP is implicit in an instance's first open.
// The kernel's verdict is not in any single record: an open it refused after the daemon's reply is released at once,
// and never flushed (no process had it as a descriptor). A RELEASE without a FLUSH is therefore a refusal, except for
// opens the kernel makes itself for execve (__FMODE_EXEC), whose files are released without a flush too.
import { ownDigest } from "../digest.js";
import { IngestError } from "./index.js";
import {
  EIO, FOPEN_PASSTHROUGH, OP_BACKING_CLOSE, OP_BACKING_OPEN, OP_FORGET, OP_OPEN, OP_RELEASE, OP_RESTART,
} from "../abi.js";
import type { DaemonRecord } from "../fuse/records.js";
import { TraceWriter } from "../trace/index.js";
import {
  VERDICT_ACCEPTED, VERDICT_REFUSED, VERDICT_UNKNOWN, type TraceBackingFile, type TraceChunk, type TraceFooter, type TraceHeader,
} from "../trace/types.js";
import { SlotAllocator } from "./machine.js";

/** __FMODE_EXEC in f_flags: the kernel's own open of a file to execute it (include/linux/fs.h). */
const FMODE_EXEC_FLAG = 0o40;

export interface NativeCaptureSummary {
  opens: number;
  releases: number;
  refused: number;
  /** Opens whose syscall failed otherwise than with EIO after the daemon's reply: no verdict on the conflict check. */
  unknown_verdicts: number;
  forgets: number;
  backing_opens: number;
  backing_closes: number;
  restarts: number;
  /** Opens the daemon answered with an error: the kernel never had them, the trace has no row for them. */
  failed_opens: number;
  backing_files: number;
  footer: TraceFooter;
}

/** Records are read twice (the verdict of an open is known only at its release): a function that yields them anew. */
export type RecordSource = () => Iterable<DaemonRecord>;

interface Row {
  op: number;
  nodeid: number;
  fh: number;
  bref: number;
  oflags: number;
  fopen: number;
  bid: number;
  verdict: number;
  pid: number;
  /** µs since the first record, never decreasing. */
  us: number;
}

/**
 * The kernel's verdict on each successful open, by the open record's seq. A kernel-side capture also has the
 * opener's own syscall return ("verdict" records): that witness wins over the release's (spec §b.3: a refused
 * passthrough open returns EIO; another error after a successful reply says nothing about the conflict check).
 */
function verdicts(records: RecordSource): Map<number, number> {
  const openOf = new Map<number, DaemonRecord>();
  const out = new Map<number, number>();
  const byUnique = new Map<number, number>();
  const returned = new Map<number, number>();
  for (const r of records()) {
    if ((r.op === "open" || r.op === "create") && r.error === 0) {
      openOf.set(r.fh, r);
      if (r.unique !== 0) byUnique.set(r.unique, r.seq);
      out.set(r.seq, VERDICT_ACCEPTED); // until its release says otherwise; still open at the end: accepted
    } else if (r.op === "verdict") {
      const seq = byUnique.get(r.unique);
      if (seq === undefined) continue;
      byUnique.delete(r.unique);
      returned.set(seq, r.error >= 0 ? VERDICT_ACCEPTED : r.error === -EIO ? VERDICT_REFUSED : VERDICT_UNKNOWN);
    } else if (r.op === "release") {
      const open = openOf.get(r.fh);
      if (open === undefined) continue;
      openOf.delete(r.fh);
      if (r.flushed === false && (open.flags & FMODE_EXEC_FLAG) === 0) out.set(open.seq, VERDICT_REFUSED);
    }
  }
  for (const [seq, verdict] of returned) out.set(seq, verdict);
  return out;
}

/** A digest for bytes the capture did not hash (the daemon's probe file): its own, never equal to another's. */
function unknownBytes(what: string): Uint8Array {
  return ownDigest(`fbreplay: bytes not captured: ${what}`);
}

export async function writeNativeCapture(
  records: RecordSource,
  output: string,
  header: Pick<TraceHeader, "source" | "workload" | "recorder" | "host_kernel">,
  chunkRows = 1 << 16,
): Promise<NativeCaptureSummary> {
  const verdictOf = verdicts(records);
  const writer = await TraceWriter.create(output, { ...header, created: new Date().toISOString() });
  try {
    const summary = await convert(records, writer, verdictOf, chunkRows);
    return { ...summary, footer: await writer.close() };
  } catch (e) {
    await writer.abort();
    throw e;
  }
}

async function convert(records: RecordSource, writer: TraceWriter, verdictOf: Map<number, number>, chunkRows: number) {
  const counts = { opens: 0, releases: 0, refused: 0, unknown_verdicts: 0, forgets: 0, backing_opens: 0, backing_closes: 0, restarts: 0, failed_opens: 0 };
  const brefOf = new Map<string, number>();
  let backingFiles = 0;
  const bref = (dev: number, ino: number, digest: Uint8Array, path: string): number => {
    const key = `${dev}:${ino}:${Buffer.from(digest).toString("hex")}`;
    let b = brefOf.get(key);
    if (b === undefined) {
      const file: TraceBackingFile = { dev, ino, digest, size: 0, path };
      b = writer.addBacking([file]);
      brefOf.set(key, b);
      backingFiles++;
    }
    return b;
  };
  const slots = new SlotAllocator();
  const slotOf = new Map<number, number>();
  /** Nodeids with an inode instance in the trace: opened since their last FORGET. */
  const alive = new Set<number>();
  /** A registration waits for the open it was made for, which names the bytes (it follows at once). */
  let pending: DaemonRecord | null = null;
  const rows: Row[] = [];
  let t0 = 0;
  let lastUs = 0;
  /** The time of the last row written, for the next chunk's dt[0]. */
  let writtenUs = 0;
  const flush = async (): Promise<void> => {
    if (rows.length === 0) return;
    const chunk = chunkOf(rows.splice(0), writtenUs);
    writtenUs = lastUs;
    await writer.writeChunk(chunk);
  };
  const rowOf = (r: DaemonRecord, f: Partial<Row> & { op: number }): Row => {
    lastUs = Math.max(lastUs, Math.floor((r.t_ns - t0) / 1000));
    return { nodeid: r.nodeid, fh: 0, bref: 0, oflags: 0, fopen: 0, bid: 0, verdict: 0, pid: r.pid, us: lastUs, ...f };
  };
  const push = async (row: Row): Promise<void> => {
    // dt is a u32 of microseconds: a longer gap (71 minutes) starts a chunk, whose t0 holds the time itself.
    if (rows.length > 0 && row.us - rows[rows.length - 1].us > 0xffffffff) await flush();
    rows.push(row);
    if (rows.length === chunkRows) await flush();
  };
  const emitPending = async (digest: Uint8Array): Promise<void> => {
    const r = pending!;
    pending = null;
    counts.backing_opens++;
    await push(rowOf(r, { op: OP_BACKING_OPEN, bref: bref(r.dev, r.ino, digest, r.path), bid: r.backing_id }));
  };

  let first = true;
  for (const r of records()) {
    if (first) {
      t0 = r.t_ns;
      first = false;
    }
    if (pending !== null && !((r.op === "open" || r.op === "create") && r.nodeid === pending.nodeid && r.error === 0)) {
      // A kernel-side capture hashed the registered file itself (sha256); the native daemon's comes with its open.
      await emitPending(pending.sha256 !== "" ? Buffer.from(pending.sha256, "hex") : unknownBytes(pending.via === "probe" ? pending.path : `${pending.dev}:${pending.ino}`));
    }
    switch (r.op) {
      case "backing_open":
        if (r.error === 0) pending = r;
        break;
      case "backing_close":
        if (r.error === 0) {
          counts.backing_closes++;
          await push(rowOf(r, { op: OP_BACKING_CLOSE, bid: r.backing_id }));
        }
        break;
      case "open":
      case "create": {
        if (r.error !== 0) {
          counts.failed_opens++;
          break;
        }
        const digest = Buffer.from(r.sha256, "hex");
        if (digest.length !== 32) throw new IngestError(`record ${r.seq}: open of ${r.path} has no sha256`);
        if (pending !== null) await emitPending(digest);
        const slot = slots.take();
        slotOf.set(r.fh, slot);
        alive.add(r.nodeid);
        const verdict = verdictOf.get(r.seq)!;
        if (verdict === VERDICT_REFUSED) counts.refused++;
        if (verdict === VERDICT_UNKNOWN) counts.unknown_verdicts++;
        counts.opens++;
        await push(rowOf(r, {
          op: OP_OPEN, fh: slot, bref: bref(r.dev, r.ino, digest, r.path), oflags: r.flags, fopen: r.fopen,
          bid: (r.fopen & FOPEN_PASSTHROUGH) !== 0 ? r.backing_id : 0, verdict,
        }));
        break;
      }
      case "release": {
        const slot = slotOf.get(r.fh);
        if (slot === undefined) break; // a directory, or an open the capture did not see
        slotOf.delete(r.fh);
        counts.releases++;
        await push(rowOf(r, { op: OP_RELEASE, fh: slot }));
        slots.give(slot);
        break;
      }
      case "forget":
        if (alive.delete(r.nodeid)) {
          counts.forgets++;
          await push(rowOf(r, { op: OP_FORGET }));
        }
        break;
      case "restart":
        counts.restarts++;
        await push(rowOf(r, { op: OP_RESTART }));
        break;
      default: // lookup, unlink, rename: identities come with each open
    }
  }
  if (pending !== null) {
    const p = pending as DaemonRecord;
    await emitPending(p.sha256 !== "" ? Buffer.from(p.sha256, "hex") : unknownBytes(`${p.dev}:${p.ino}`));
  }
  await flush();
  return { ...counts, backing_files: backingFiles };
}

/** Rows as a chunk: t0 is its first row's time, dt the gap from the row before (dt[0]: from `previousUs`). */
function chunkOf(rows: Row[], previousUs: number): TraceChunk {
  const n = rows.length;
  const bid = new Uint32Array(n);
  const verdict = new Uint8Array(n);
  const c: TraceChunk = {
    length: n, t0: rows[0].us, op: new Uint8Array(n), nodeid: new Uint32Array(n), fh: new Uint32Array(n), bref: new Uint32Array(n),
    oflags: new Uint32Array(n), fopen: new Uint32Array(n), pid: new Uint32Array(n), dt: new Uint32Array(n), bid, verdict,
  };
  let prev = previousUs;
  rows.forEach((r, i) => {
    c.op[i] = r.op;
    c.nodeid[i] = r.nodeid;
    c.fh[i] = r.fh;
    c.bref[i] = r.bref;
    c.oflags[i] = r.oflags;
    c.fopen[i] = r.fopen;
    c.pid[i] = r.pid;
    bid[i] = r.bid;
    verdict[i] = r.verdict;
    c.dt[i] = r.us - prev;
    prev = r.us;
  });
  return c;
}
