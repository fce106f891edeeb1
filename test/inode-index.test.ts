// The replay's (st_dev, st_ino) index: dense indices in order of first sight, as a Map of Maps gave them.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InodeIndex } from "../src/replay/inode-index.js";

describe("InodeIndex", () => {
  it("gives each new pair the next index and an old pair its own, through every rehash", () => {
    // Inode numbers above 2^32 and devices that differ only there; few distinct values, so pairs repeat.
    const pair = fc.tuple(fc.integer({ min: 0, max: 5 }), fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 40 }).map((n) => 2 ** 40 + n * 2 ** 32)));
    fc.assert(
      fc.property(fc.array(pair, { maxLength: 3000 }), fc.integer({ min: 0, max: 64 }), (pairs, expected) => {
        const index = new InodeIndex(expected);
        const model = new Map<string, number>();
        for (const [dev, ino] of pairs) {
          const key = `${dev}:${ino}`;
          const want = model.get(key) ?? model.size;
          model.set(key, want);
          expect(index.intern(dev, ino)).toBe(want);
          expect(index.size).toBe(model.size);
          expect([index.dev(want), index.ino(want)]).toEqual([dev, ino]);
        }
      }),
      { numRuns: 60 },
    );
  });
});
