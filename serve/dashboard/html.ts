/**
 * One HTML escaper for every dashboard page: the `html` tagged template escapes each interpolated
 * value unless it is already {@link SafeHtml} (the result of another `html` template, or `raw`).
 * Arrays are joined, `undefined`/`null`/`false` render as nothing. Nothing reaches a page unescaped.
 */

/** A fragment of HTML that is already safe to insert. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for an HTML text node or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

/** A value an `html` template can take. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(v: HtmlValue): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v as string | number | boolean));
}

/** Builds HTML from a template, escaping every interpolated value that is not already SafeHtml. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

/** Marks a trusted constant (the stylesheet, an SVG path built from numbers) as safe. Never pass input here. */
export function raw(trusted: string): SafeHtml {
  return new SafeHtml(trusted);
}
