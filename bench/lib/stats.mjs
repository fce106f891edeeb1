// Small statistics over timing samples.

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Relative spread of the samples: (max - min) / median, as a fraction. */
export function spread(xs) {
  return (Math.max(...xs) - Math.min(...xs)) / median(xs);
}

export const round = (x, digits = 3) => Number(x.toFixed(digits));
