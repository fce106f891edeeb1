// Lookup of a run's named benchmarks (`suite/…` paths), each with its median and bootstrap interval computed once.
import { bootstrapMedian, type MedianEstimate } from "./stats.js";
import type { Benchmark } from "./types.js";

export class BenchmarkIndex {
  private readonly byName = new Map<string, Benchmark>();
  private readonly estimates = new Map<string, MedianEstimate>();

  constructor(benchmarks: readonly Benchmark[]) {
    for (const b of benchmarks) this.byName.set(b.name, b);
  }

  get(name: string): Benchmark | undefined {
    return this.byName.get(name);
  }

  /** Median and interval of the named benchmark's samples, or undefined when the run did not measure it. */
  estimate(name: string): MedianEstimate | undefined {
    const b = this.byName.get(name);
    if (!b || b.samples.length === 0) return undefined;
    let e = this.estimates.get(name);
    if (!e) {
      e = bootstrapMedian(b.samples);
      this.estimates.set(name, e);
    }
    return e;
  }

  names(): string[] {
    return [...this.byName.keys()];
  }
}
