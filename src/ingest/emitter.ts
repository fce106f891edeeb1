// Rows out of an ingest: compact slot numbers for nodeids and fhs, and the emitter that cuts rows into trace chunks.
import { emptyColumns } from "../events.js";
import { chunkFromColumns, type TraceChunk } from "../trace/index.js";

/** Compact ids 0, 1, … with reuse of freed ones (lowest-numbered reuse is not needed, LIFO is fine). */
export class SlotAllocator {
  private next = 0;
  private readonly free: number[] = [];
  take(): number {
    return this.free.pop() ?? this.next++;
  }
  give(slot: number): void {
    this.free.push(slot);
  }
}

/**
 * Event rows into chunks of `rows`; full chunks wait in `ready` for the writer. Time: the first event at 0, then
 * 1 µs per event, or, for logs with timestamps, the time given to `at()` (never backwards).
 */
export class Emitter {
  events = 0;
  /** µs of the last row since the first; the clock's origin (the first row's timestamp), when timestamps are given. */
  private t = 0;
  private origin: number | undefined;
  private stamp: number | undefined;
  private chunkT0 = 0;
  readonly ready: TraceChunk[] = [];
  private chunk: TraceChunk;
  private n = 0;
  private bid: Uint32Array;
  /** The chunk names backing ids: it gets the `bid` column. */
  private hasBid = false;

  constructor(private readonly rows: number, private readonly dry: boolean) {
    this.chunk = this.fresh();
    this.bid = new Uint32Array(dry ? 0 : rows);
  }

  push(op: number, nodeid: number, fh: number, bref: number, oflags: number, fopen: number, pid: number, bid = 0): void {
    this.events++;
    if (this.dry) return;
    const c = this.chunk;
    const i = this.n++;
    this.bid[i] = bid;
    if (bid !== 0) this.hasBid = true;
    let t: number;
    if (this.stamp === undefined) t = this.events === 1 ? 0 : this.t + 1;
    else {
      this.origin ??= this.stamp - this.t;
      t = this.t + Math.min(Math.max(0, this.stamp - this.origin - this.t), 0xffffffff);
    }
    if (i === 0) this.chunkT0 = t;
    c.op[i] = op;
    c.nodeid[i] = nodeid;
    c.fh[i] = fh;
    c.bref[i] = bref;
    c.oflags[i] = oflags;
    c.fopen[i] = fopen;
    c.pid[i] = pid;
    c.dt[i] = t - this.t;
    this.t = t;
    if (this.n === this.rows) this.seal();
  }

  /** Moves the rows so far into `ready`. */
  seal(): void {
    if (this.n === 0) return;
    const n = this.n;
    const c = this.chunk;
    this.ready.push({
      length: n, t0: this.chunkT0,
      op: c.op.subarray(0, n), nodeid: c.nodeid.subarray(0, n), fh: c.fh.subarray(0, n), bref: c.bref.subarray(0, n),
      oflags: c.oflags.subarray(0, n), fopen: c.fopen.subarray(0, n), pid: c.pid.subarray(0, n), dt: c.dt.subarray(0, n),
      ...(this.hasBid ? { bid: this.bid.slice(0, n) } : {}),
    });
    this.chunk = this.fresh();
    this.n = 0;
    this.hasBid = false;
  }

  /** The timestamp (µs, any origin) of the rows pushed from now on. */
  at(us: number): void {
    this.stamp = us;
  }

  private fresh(): TraceChunk {
    const rows = this.dry ? 0 : this.rows;
    return chunkFromColumns(emptyColumns(rows), new Uint32Array(rows), new Uint32Array(rows));
  }
}
