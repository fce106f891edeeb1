// Tables: the first columns are labels (left-aligned, the first one a row header), the others numbers (right-aligned).
import { html, type Child, type Html } from "./html.js";

/** A cell with a class (e.g. "bad" to highlight it) or a tooltip. */
export class RichCell {
  constructor(readonly content: Child, readonly className?: string, readonly title?: string) {}
}

export type Cell = Child | RichCell;

export function cell(content: Child, className?: string, title?: string): RichCell {
  return new RichCell(content, className, title);
}

export interface TableSpec {
  caption?: Child;
  head: Child[];
  rows: Cell[][];
  /** How many leading columns hold labels rather than numbers (default 1). */
  labelColumns?: number;
  /** Other columns (by index) that hold text, not numbers. */
  textColumns?: number[];
  className?: string;
}

function td(value: Cell, column: number, isText: (column: number) => boolean): Html {
  const rich = value instanceof RichCell ? value : new RichCell(value);
  const classes = [isText(column) ? "" : "num", rich.className ?? ""].filter(Boolean).join(" ");
  const attrs = html`${classes ? html` class="${classes}"` : ""}${rich.title ? html` title="${rich.title}"` : ""}`;
  return column === 0 ? html`<th scope="row"${attrs}>${rich.content}</th>` : html`<td${attrs}>${rich.content}</td>`;
}

export function table(spec: TableSpec): Html {
  const labels = spec.labelColumns ?? 1;
  const isText = (column: number) => column < labels || (spec.textColumns ?? []).includes(column);
  const head = spec.head.map((h, i) => html`<th scope="col"${isText(i) ? "" : html` class="num"`}>${h}</th>`);
  const rows = spec.rows.map((r) => html`<tr>${r.map((c, i) => td(c, i, isText))}</tr>`);
  return html`<table${spec.className ? html` class="${spec.className}"` : ""}>${spec.caption ? html`<caption>${spec.caption}</caption>` : ""}<thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>`;
}

/** A key → value table (the manifest). */
export function keyValueTable(entries: readonly [Child, Cell][], caption?: Child): Html {
  const rows = entries.map(([k, v]) => html`<tr><th scope="row">${k}</th>${td(v, 1, () => true)}</tr>`);
  return html`<table class="kv">${caption ? html`<caption>${caption}</caption>` : ""}<tbody>${rows}</tbody></table>`;
}
