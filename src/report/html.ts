// Building HTML (and inline SVG) safely: the `html` template tag escapes every interpolated value unless it is
// already Html, so text from result files can never become markup.

/** A fragment of markup that is already safe to emit. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** What can be interpolated: text and numbers are escaped, Html is kept, arrays are concatenated, nothing is "". */
export type Child = Html | string | number | boolean | null | undefined | readonly Child[];

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for an element's content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

function render(value: Child): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === null || value === undefined || value === false || value === true) return "";
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Child[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new Html(out);
}

/** Marks trusted markup (our own constants: the style sheet) as Html. Never pass it text from input. */
export function trusted(markup: string): Html {
  return new Html(markup);
}

/** Concatenates fragments. */
export function join(parts: readonly Child[], separator: Child = ""): Html {
  return new Html(parts.map(render).join(render(separator)));
}
