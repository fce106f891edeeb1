// Backing ids a multithreaded passthrough_hp's log lost. Its `DEBUG: setup … backing file N for … inode X` lines
// are written piece by piece (`cerr <<`), so with several threads two such lines can run into each other and
// which id is whose cannot be read. An open whose reply id was lost that way still passed through, to a backing
// registered either for it or before it: it is given the id its inode has registered (the most recent still
// open), else a registration of its own with an id no real registration uses. Both are guesses and are counted:
// the first can accept an open the kernel refused, the second refuse one it accepted only where a "reusing" line
// was lost, which leaves the inode a registration to reuse, so it takes the first branch.
import { ID_MAX_DEFAULT } from "../abi.js";
import type { PendingRequests, Request } from "./pending.js";

export class LostIds {
  /** The requests in flight, to tell whether an open that took an id line has replied (`fill`). */
  constructor(private readonly pending: PendingRequests) {}

  /** Ids registered per daemon inode (the DEBUG lines' inode: the nodeid), oldest first, until closed. */
  private readonly registered = new Map<string, number[]>();
  /** Ids of registrations of our own, from the top of the idr's range down: never a real one. */
  private nextOwn = ID_MAX_DEFAULT;
  /** Opens given an id this way, and the garbled lines. */
  guessed = 0;
  garbledLines = 0;
  /** Id lines printed while several opens of their inode were in flight: given to the oldest, not certainly. */
  inFlight = 0;

  /** For the ingest's summary: nothing when every id was certain. */
  counts(): { garbledLines?: number; guessedIds?: number } {
    return this.guessed + this.inFlight === 0 ? {} : { garbledLines: this.garbledLines, guessedIds: this.guessed + this.inFlight };
  }

  /** A garbled line: any open pending now may be the one whose id it held (counted, not marked: O(1) a line). */
  garbled(): void {
    this.garbledLines++;
  }

  /**
   * An id line of an inode while several of its opens were in flight: it goes to the oldest (`waiting[0]`), which is
   * not certain. The line comes just before its open's reply, so whichever of them replies first without an id of
   * its own takes it over (`fill`).
   */
  ambiguous(waiting: readonly Request[]): void {
    this.inFlight++;
    for (const r of waiting.slice(1)) r.idTakenBy = waiting[0];
  }

  /** A successful open of `inode`: if its id may have been lost and nothing else gave one, the guess. */
  fill(req: Request, inode: string | null): void {
    if (req.replyId !== undefined) return;
    const taker = req.idTakenBy;
    if (taker !== undefined && this.pending.get(taker.unique) === taker && taker.replyId !== undefined) {
      // The older open has not replied: the id, and the registration with it, were this one's.
      [req.replyId, req.registered, taker.replyId, taker.registered] = [taker.replyId, taker.registered, undefined, undefined];
      taker.idTakenBy = req;
      this.guessed++;
      return;
    }
    if (taker === undefined && this.garbledLines === (req.garbledBefore ?? this.garbledLines)) return;
    const [id, own] = this.guess(inode);
    if (own) (req.registered ??= []).push(id);
    req.replyId = id;
  }

  setup(inode: string, id: number): void {
    const ids = this.registered.get(inode);
    if (ids === undefined) this.registered.set(inode, [id]);
    else ids.push(id);
  }

  /**
   * The daemon closed `id` of `inode`: the id the trace closes. An id no line registered (its setup line was lost)
   * closes the inode's registration of our own if it has one, else nothing (undefined) once ids were lost.
   */
  closed(inode: string, id: number): number | undefined {
    const ids = this.registered.get(inode) ?? [];
    let at = ids.lastIndexOf(id);
    if (at < 0) at = ids.findIndex((own) => own > this.nextOwn);
    if (at < 0) return this.guessed > 0 ? undefined : id;
    const closed = ids[at];
    ids.splice(at, 1);
    if (ids.length === 0) this.registered.delete(inode);
    return closed;
  }

  /** The id for an open of `inode` whose reply id was lost: [id, whether it is a new registration]. */
  private guess(inode: string | null): [number, boolean] {
    this.guessed++;
    const ids = inode === null ? undefined : this.registered.get(inode);
    if (ids !== undefined) return [ids[ids.length - 1], false];
    const id = this.nextOwn--;
    if (inode !== null) this.setup(inode, id);
    return [id, true];
  }
}
