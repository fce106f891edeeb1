// A report section: <section id> with its <h2>, and the pieces sections share.
import { html, type Child, type Html } from "./html.js";

export interface SectionSpec {
  id: string;
  title: string;
  /** One sentence on what the section shows and how it was measured. */
  intro?: Child;
  body: Child;
}

export function section(spec: SectionSpec): Html {
  return html`<section id="${spec.id}"><h2>${spec.title}</h2>${spec.intro ? html`<p class="intro">${spec.intro}</p>` : ""}${spec.body}</section>`;
}

/** What a section says when the newest run did not include its suite (e.g. `bench/run.mjs --only check`). */
export function notMeasured(suite: string): Html {
  return html`<p class="absent">Not measured in this run (the ${suite} suite did not run).</p>`;
}

/** A table and its chart(s) side by side, wrapping under each other on narrow screens. */
export function pair(tablePart: Child, ...charts: Child[]): Html {
  return html`<div class="pair"><div class="pair-table">${tablePart}</div>${charts.map((c) => html`<figure class="pair-chart">${c}</figure>`)}</div>`;
}

export function subheading(text: Child): Html {
  return html`<h3>${text}</h3>`;
}

export function note(text: Child): Html {
  return html`<p class="note">${text}</p>`;
}
