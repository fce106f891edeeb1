// What a recorder's own records add to the kernel capture of its daemon (src/ingest/capture.ts turns the capture into
// daemon records; this runs over them before the trace is written). The kernel pairs every request with its reply
// and says every id and verdict; what it cannot see:
// - bindfs registers no backing file, so the kernel never sees which source file an open reads. The recorder took
//   each open's identity (st_dev, st_ino, sha256) as it happened (identities.jsonl), keyed by the request's unique,
//   which is the kernel's own: merged into the capture's open by unique.
// - fbreplay's native daemon: its restarts (the daemon forgetting its ids is its own state; the kernel sees only the
//   ids it closes or registers next) and each open's bytes as the open left them (spec §e: the digest policy
//   compares bytes). A restart goes where the daemon made it: right before the first capture record of what the
//   daemon did next (a registration or close, matched by the kernel's id; or a request, matched by unique).
import { readFileSync } from "node:fs";
import { KIND } from "../capture/layout.js";
import { ownDigest } from "../digest.js";
import { PREEXISTING_ID, captureRecords } from "../ingest/capture.js";
import type { RecordSource } from "../ingest/native.js";
import type { DaemonRecord } from "../fuse/records.js";
import { RecordError } from "./workload.js";

/** An open's backing file as the recorder saw it. */
interface Identity {
  dev: number;
  ino: number;
  sha256: string;
  path: string;
}

/** Where a restart goes in the capture: before the record of the daemon's next visible act. */
type Anchor = { kind: "backing_open" | "backing_close"; kernelId: number } | { kind: "request"; unique: number };

interface Restart {
  closeIds: boolean;
  anchor: Anchor | null;
}

/** What the recorder's records add, indexed for the merge. */
export interface DaemonSide {
  /** Each successful open's identity, by the request's unique. */
  opens: Map<number, Identity>;
  /** native: each registration's open (its unique), by the kernel's id. */
  registeredFor: Map<number, number>;
  /** native: the daemon's restarts, in order. */
  restarts: Restart[];
  /**
   * native: each identity was read by the daemon as it opened the file, so it stands even where it names another
   * inode than the kernel's registration (a per-nodeid daemon answers a re-downloaded file with its nodeid's old
   * id). bindfs's are read from its log afterwards, and the kernel's inode then wins (racedIdentities).
   */
  exact: boolean;
}

export interface MergeStats {
  /** Opens given the recorder's identity / without one (the file was gone before the recorder read it). */
  identities: number;
  missingIdentities: number;
  /** Restarts placed in the capture / left at its end (their anchor was not in the capture). */
  restarts: number;
  unplacedRestarts: number;
  /**
   * Opens whose identity names another inode than the kernel's entry for the file: bindfs's identity is read from
   * its log as the log is written, and the name may have moved on by then (a rename right after the open). The
   * kernel's inode number stands, with the bytes last seen for it.
   */
  racedIdentities: number;
  /** Registrations whose bytes neither the capture (its digests) nor the daemon's side had. */
  unhashedBacking: number;
}

/** bindfs's identities.jsonl (src/record/index.ts): one line per successful open. */
export function bindfsSide(path: string): DaemonSide {
  const opens = new Map<number, Identity>();
  readFileSync(path, "utf8").split("\n").forEach((line, i) => {
    if (line === "") return;
    let r: { unique?: unknown; dev?: unknown; ino?: unknown; sha256?: unknown; path?: unknown };
    try {
      r = JSON.parse(line) as typeof r;
    } catch {
      throw new RecordError(`${path}:${i + 1}: not a JSON identity`);
    }
    if (typeof r.unique !== "number" || typeof r.dev !== "number" || typeof r.ino !== "number" || typeof r.sha256 !== "string" || typeof r.path !== "string") {
      throw new RecordError(`${path}:${i + 1}: an identity needs unique, dev, ino, sha256 and path`);
    }
    opens.set(r.unique, { dev: r.dev, ino: r.ino, sha256: r.sha256, path: r.path });
  });
  return { opens, registeredFor: new Map(), restarts: [], exact: false };
}

/** The native daemon's records.jsonl (read through recordsOf). */
export function nativeSide(records: Iterable<DaemonRecord>): DaemonSide {
  const side: DaemonSide = { opens: new Map(), registeredFor: new Map(), restarts: [], exact: true };
  /** Restarts still waiting for the daemon's next visible act. */
  let waiting: Restart[] = [];
  const anchor = (a: Anchor) => {
    for (const r of waiting) r.anchor = a;
    waiting = [];
  };
  for (const r of records) {
    switch (r.op) {
      case "restart": {
        const restart: Restart = { closeIds: r.close_ids === true, anchor: null };
        side.restarts.push(restart);
        waiting.push(restart);
        break;
      }
      case "backing_open":
        // The startup probe (via "probe") registers before any request, and before the capture started.
        if (r.error !== 0 || r.via === "probe") break;
        side.registeredFor.set(r.backing_id, r.unique);
        anchor({ kind: "backing_open", kernelId: r.backing_id });
        break;
      case "backing_close":
        if (r.error === 0 && r.via !== "probe") anchor({ kind: "backing_close", kernelId: r.backing_id });
        break;
      case "open": case "create":
        if (r.error === 0) side.opens.set(r.unique, { dev: r.dev, ino: r.ino, sha256: r.sha256, path: r.path });
        anchor({ kind: "request", unique: r.unique });
        break;
      case "lookup": case "release": case "unlink": case "rename":
        if (r.unique !== 0) anchor({ kind: "request", unique: r.unique });
        break;
      default: // forget (never in the capture), action
    }
  }
  return side;
}

/** The kernel's id of the first registration the capture saw, less 1: the capture's trace ids are the kernel's minus this. */
function idOffset(recordsBin: string): number {
  for (const r of captureRecords(recordsBin)) if (r.kind === KIND.BACKING_OPEN && r.error > 0) return r.error - 1;
  return 0;
}

/**
 * The capture's daemon records with the recorder's side merged in (read anew on every call, as the trace writer
 * needs). `stats` is filled at the end of each pass.
 */
export function mergeDaemonSide(
  capture: RecordSource, recordsBin: string, digests: ReadonlyMap<string, string>, side: DaemonSide, stats?: MergeStats,
): RecordSource {
  const offset = idOffset(recordsBin);
  const kernelId = (traceId: number) => (traceId >= PREEXISTING_ID ? traceId - PREEXISTING_ID : traceId + offset);
  return function* () {
    const s: MergeStats = { identities: 0, missingIdentities: 0, restarts: 0, unplacedRestarts: 0, unhashedBacking: 0, racedIdentities: 0 };
    /** The bytes last seen for each inode, for an identity that raced. */
    const lastBytes = new Map<string, string>();
    let seq = 0;
    let next = 0;
    const restartRecord = (restart: Restart, at: DaemonRecord): DaemonRecord => ({
      seq: seq++, op: "restart", unique: 0, nodeid: 0, fh: 0, pid: 0, flags: 0, fopen: 0, backing_id: 0, dev: 0, ino: 0,
      sha256: "", name: "", path: "", error: 0, t_ns: at.t_ns, epoch: 0, close_ids: restart.closeIds,
    });
    const isAnchor = (a: Anchor | null, r: DaemonRecord): boolean => {
      if (a === null) return false;
      if (a.kind === "request") return r.unique === a.unique && r.op !== "verdict" && r.op !== "backing_open" && r.op !== "backing_close";
      return r.op === a.kind && kernelId(r.backing_id) === a.kernelId;
    };
    for (const r of capture()) {
      while (next < side.restarts.length && isAnchor(side.restarts[next].anchor, r)) {
        s.restarts++;
        yield restartRecord(side.restarts[next++], r);
      }
      let merged: DaemonRecord = { ...r, seq: seq++ };
      if ((r.op === "open" || r.op === "create") && r.error === 0) {
        const id = side.opens.get(r.unique);
        if (id === undefined) s.missingIdentities++;
        else if (!side.exact && r.ino > 0 && id.ino !== r.ino) {
          s.racedIdentities++;
          const sha256 = lastBytes.get(`${id.dev}:${r.ino}`) ?? Buffer.from(ownDigest(`fbreplay record: bytes not read: ${id.dev}:${r.ino}`)).toString("hex");
          merged = { ...merged, dev: id.dev, ino: r.ino, sha256, path: "" };
        } else {
          s.identities++;
          merged = { ...merged, ...id };
          lastBytes.set(`${id.dev}:${id.ino}`, id.sha256);
        }
      } else if (r.op === "backing_open") {
        // The bytes of the open it was made for, as the native daemon's own trace has them.
        const id = side.opens.get(side.registeredFor.get(kernelId(r.backing_id)) ?? -1);
        if (id !== undefined) merged = { ...merged, sha256: id.sha256, path: id.path };
        else if (!digests.has(`${r.t_ns}:${kernelId(r.backing_id)}`)) s.unhashedBacking++; // digestKey of its record
      }
      yield merged;
    }
    // Restarts after the capture's last record (nothing visible followed them): at the end, said.
    for (; next < side.restarts.length; next++) {
      s.unplacedRestarts++;
      yield restartRecord(side.restarts[next], { t_ns: 0 } as DaemonRecord);
    }
    if (stats !== undefined) Object.assign(stats, s);
  };
}
