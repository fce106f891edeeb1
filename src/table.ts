// The one text-table formatter of every report printed for people: columns two spaces apart under a dashed rule,
// numbers right-aligned, text left-aligned; and the same rows as a Markdown table (bench/README.md).

export interface TableOptions {
  /** Columns aligned to the left (text); the others are right-aligned (numbers). Default: the first, or "all". */
  left?: readonly number[] | "all";
}

const isLeft = (options: TableOptions, i: number) => options.left === "all" || (options.left ?? [0]).includes(i);

/** `rows[0]` is the header. Lines without trailing spaces. */
export function textTable(rows: readonly (readonly string[])[], options: TableOptions = {}): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: readonly string[]) => r.map((v, i) => (isLeft(options, i) ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join("  ").trimEnd();
  return [line(rows[0]), line(widths.map((w) => "-".repeat(w))), ...rows.slice(1).map(line)];
}

/** The same rows as a Markdown table, with the same alignment. */
export function markdownTable(rows: readonly (readonly string[])[], options: TableOptions = {}): string[] {
  const line = (r: readonly string[]) => `| ${r.join(" | ")} |`;
  return [line(rows[0]), `|${rows[0].map((_, i) => (isLeft(options, i) ? "---" : "---:")).join("|")}|`, ...rows.slice(1).map(line)];
}
