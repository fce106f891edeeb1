// Small statistics over timing samples; the median is the one compare, the exports and the report use.
import { median } from "../../dist/compare/stats.js";

export { median };

/** Relative spread of the samples: (max - min) / median, as a fraction. */
export function spread(xs) {
  return (Math.max(...xs) - Math.min(...xs)) / median(xs);
}

export const round = (x, digits = 3) => Number(x.toFixed(digits));
