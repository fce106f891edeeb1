// Mapping data to pixels, and where to put ticks.

export interface Scale {
  /** Pixel position of a data value. */
  at(value: number): number;
  ticks: number[];
}

/** A "nice" step (1, 2 or 5 × 10^k) close to range / count. */
export function niceStep(range: number, count: number): number {
  if (!(range > 0)) return 1;
  const raw = range / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const f = raw / power;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
}

/** Linear ticks from 0 up to the first nice value ≥ max (about `count` intervals). */
export function zeroBasedTicks(max: number, count = 5): number[] {
  const step = niceStep(max > 0 ? max : 1, count);
  const top = Math.max(step, Math.ceil(max / step - 1e-9) * step);
  const ticks: number[] = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Ticks for a log axis over [min, max]: 1-2-5 × 10^k inside it; decades only when that is too many. */
export function logTicks(min: number, max: number): number[] {
  const all: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) all.push(v);
    }
  }
  const decades = all.filter((v) => Number.isInteger(Math.log10(v)) || Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9);
  if (all.length > 7 && decades.length >= 2) return decades;
  return all.length >= 2 ? all : [min, max];
}

export function linearScale(domain: [number, number], range: [number, number], ticks: number[]): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0 || 1;
  return { at: (v) => r0 + ((v - d0) / span) * (r1 - r0), ticks };
}

export function logScale(domain: [number, number], range: [number, number], ticks: number[]): Scale {
  const l0 = Math.log10(domain[0]);
  const span = Math.log10(domain[1]) - l0 || 1;
  const [r0, r1] = range;
  return { at: (v) => r0 + ((Math.log10(v) - l0) / span) * (r1 - r0), ticks };
}
