// Compact nodeid and fh spaces for whatever sizes tables by them (the replay core, inspect, the oracle). A trace's
// ids are any u32: ingest hands out compact ones, but another producer may write a daemon's own ids (inode pointers
// of 64-bit daemons, cut to 32 bits) or a corrupted file a huge one. Tables are sized by the largest id only when
// the space is dense; a sparse one is first read through once (which also checks every chunk) and renumbered in
// order of first appearance, so memory follows the ids in use, never the largest value.
import type { ItemsOptions, TraceFooter, TraceHeader, TraceItem } from "./types.js";

/** A trace as its consumers read it: header and footer up front, then the items in file order. */
export interface IdSource {
  path: string;
  header: TraceHeader;
  footer: TraceFooter;
  items(options?: ItemsOptions): AsyncIterable<TraceItem>;
}

/**
 * Largest id space kept as it is, for a trace of `events` events: twice the events (an id is named by at least
 * one event, so a denser space wastes at most half its slots), and never less than 65536 (small traces stay as
 * written). Beyond it the ids are renumbered.
 */
export function denseIdLimit(events: number): number {
  return Math.max(2 * events, 1 << 16);
}

/** u32 → compact index in order of first appearance: an open-addressing table in typed arrays, no object per id. */
export class IdRemap {
  private keys = new Uint32Array(1024);
  private values = new Int32Array(1024).fill(-1);
  size = 0;

  private slot(id: number): number {
    const mask = this.keys.length - 1;
    let i = (Math.imul(id, 0x9e3779b1) >>> 0) & mask;
    while (this.values[i] !== -1 && this.keys[i] !== id) i = (i + 1) & mask;
    return i;
  }

  /** The index of `id`, given one if it has none. */
  add(id: number): number {
    let i = this.slot(id);
    if (this.values[i] !== -1) return this.values[i];
    if ((this.size + 1) * 2 > this.keys.length) {
      this.grow();
      i = this.slot(id);
    }
    this.keys[i] = id;
    this.values[i] = this.size;
    return this.size++;
  }

  /** The index of an id added before. */
  get(id: number): number {
    return this.values[this.slot(id)];
  }

  private grow(): void {
    const { keys, values } = this;
    this.keys = new Uint32Array(keys.length * 2);
    this.values = new Int32Array(values.length * 2).fill(-1);
    for (let i = 0; i < keys.length; i++) {
      if (values[i] === -1) continue;
      const at = this.slot(keys[i]);
      this.keys[at] = keys[i];
      this.values[at] = values[i];
    }
  }

  /** Rewrites a column in place. */
  apply(column: Uint32Array, n: number): void {
    for (let i = 0; i < n; i++) column[i] = this.get(column[i]);
  }
}

/** True when the footer's maxima would size tables beyond denseIdLimit. */
export function isSparse(footer: TraceFooter): boolean {
  const limit = denseIdLimit(footer.events);
  return footer.max_nodeid + 1 > limit || footer.max_fh + 1 > limit;
}

/**
 * The source itself when its ids are dense; otherwise a source whose chunks carry compact nodeids and fhs (their
 * columns rewritten in place as they are yielded) and whose footer gives the compact maxima. The first pass reads
 * the whole trace, so a bad chunk is reported before anything else is done with it.
 */
export async function denseIds<S extends IdSource>(source: S): Promise<IdSource> {
  if (!isSparse(source.footer)) return source;
  const nodeids = new IdRemap();
  const fhs = new IdRemap();
  for await (const item of source.items()) {
    if (item.kind !== "chunk") continue;
    const { nodeid, fh, length } = item.chunk;
    for (let i = 0; i < length; i++) {
      nodeids.add(nodeid[i]);
      fhs.add(fh[i]);
    }
  }
  return {
    path: source.path,
    header: source.header,
    footer: { ...source.footer, max_nodeid: nodeids.size - 1, max_fh: fhs.size - 1 },
    async *items(options?: ItemsOptions) {
      for await (const item of source.items(options)) {
        if (item.kind === "chunk") {
          nodeids.apply(item.chunk.nodeid, item.chunk.length);
          fhs.apply(item.chunk.fh, item.chunk.length);
        }
        yield item;
      }
    },
  };
}
