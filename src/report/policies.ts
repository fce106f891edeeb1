// The policies in their canonical order, and the order of the ones a run reports.
import { POLICIES } from "../engine.js";

/** Known policies first in POLICIES order, then any unknown ones as found. */
export function orderPolicies(found: Iterable<string>): string[] {
  const set = new Set(found);
  return [...POLICIES.filter((p) => set.has(p)), ...[...set].filter((p) => !(POLICIES as readonly string[]).includes(p))];
}

export { POLICIES };
