// Numbers for people: 58.3 ns, 17.2M events/s, 494,977, 0.04 %, 2.64×.

/** Three significant digits, without trailing noise: 5.27, 58.9, 155, 1234 → "1,234". */
export function sig3(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return count(Math.round(x));
  if (a === 0) return "0";
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : Math.min(6, 2 - Math.floor(Math.log10(a)));
  return x.toFixed(digits);
}

/** An integer with thousands separators: 494977 → "494,977". */
export function count(n: number): string {
  const sign = n < 0 ? "-" : "";
  const digits = String(Math.abs(Math.round(n)));
  return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** A duration given in nanoseconds, in the unit that reads best: 5.27 ns, 58.9 ns, 1.23 µs, 386 ms. */
export function duration(ns: number): string {
  const a = Math.abs(ns);
  if (a >= 1e9) return `${sig3(ns / 1e9)} s`;
  if (a >= 1e6) return `${sig3(ns / 1e6)} ms`;
  if (a >= 1e3) return `${sig3(ns / 1e3)} µs`;
  return `${sig3(ns)} ns`;
}

/** A large quantity with an SI suffix: 17_247_653 → "17.2M", 1000 → "1k". */
export function compact(x: number): string {
  const a = Math.abs(x);
  if (a >= 1e9) return `${sig3(x / 1e9)}G`;
  if (a >= 1e6) return `${sig3(x / 1e6)}M`;
  if (a >= 1e3) return `${sig3(x / 1e3)}k`;
  return sig3(x);
}

/** A rate: "17.2M events/s". */
export function rate(perSecond: number, what = "events"): string {
  return `${compact(perSecond)} ${what}/s`;
}

/** A fraction as a percentage: 0 → "0 %", 0.0004 → "0.04 %", 0.00001 → "<0.01 %". */
export function percent(fraction: number): string {
  if (fraction === 0) return "0 %";
  const p = fraction * 100;
  if (Math.abs(p) < 0.01) return p > 0 ? "<0.01 %" : ">-0.01 %";
  return `${trimZeros(sig3(p))} %`;
}

/** Drops trailing zeros after a decimal point: "20.0" → "20", "1.50" → "1.5". */
export function trimZeros(s: string): string {
  return s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
}

/** A signed relative change: +12.3 %, −4.1 %. */
export function change(fraction: number): string {
  const p = fraction * 100;
  const text = Math.abs(p) >= 100 ? Math.abs(p).toFixed(0) : Math.abs(p).toFixed(1);
  return `${p > 0 ? "+" : p < 0 ? "−" : "±"}${text} %`;
}

/** A ratio: "2.64×". */
export function ratio(x: number): string {
  return `${sig3(x)}×`;
}

/** A commit hash, short. */
export function shortCommit(commit: string | null | undefined): string {
  return commit ? commit.slice(0, 7) : "no git";
}

/** An axis tick: compact, without trailing zeros ("20", "1.5k", "3M"). */
export function tick(x: number): string {
  const c = compact(x);
  const m = /^(-?[\d.,]+)(\D*)$/.exec(c);
  return m ? trimZeros(m[1]) + m[2] : c;
}
