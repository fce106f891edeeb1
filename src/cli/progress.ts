// A progress line on stderr for long runs, only when stderr is a terminal (never in pipes, logs or CI), and never
// when the caller asked for machine output (--json).
export class Progress {
  private readonly enabled: boolean;
  private readonly start = process.hrtime.bigint();
  private lastDraw = 0;

  constructor(private readonly label: string, private total: number, private readonly unit = "events", quiet = false) {
    this.enabled = process.stderr.isTTY === true && !quiet;
  }

  update(done: number, total = this.total): void {
    this.total = total;
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < 100 && done < this.total) return;
    this.lastDraw = now;
    const seconds = Number(process.hrtime.bigint() - this.start) / 1e9;
    const fraction = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const width = 30;
    const bar = "#".repeat(Math.round(fraction * width)).padEnd(width, ".");
    const rate = seconds > 0 ? done / seconds / 1e6 : 0;
    process.stderr.write(`\r${this.label} [${bar}] ${(fraction * 100).toFixed(1)}% ${(done / 1e6).toFixed(1)}M/${(this.total / 1e6).toFixed(1)}M ${this.unit} ${rate.toFixed(1)}M/s `);
  }

  done(): void {
    if (this.enabled && this.lastDraw > 0) process.stderr.write("\n");
  }
}
