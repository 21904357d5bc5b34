/**
 * The few pages sign-in and answering show themselves (refusals, the sign-out button): small,
 * server-rendered, without JavaScript, every value escaped (with the dashboard's one escaper).
 */
import { escapeHtml } from './html';

/** A page: a title, paragraphs of text (escaped) and optional trusted HTML after them (built with {@link escapeHtml}). */
export function authPage(title: string, paragraphs: readonly string[], extraHtml = ''): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · driftplane</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f8fa}main{max-width:42rem;margin:3rem auto;padding:1.5rem 2rem;background:#fff;border:1px solid #d0d7de;border-radius:6px}h1{font-size:1.4rem;margin-top:0}code{background:#eff1f3;padding:0 .25em;border-radius:3px}a{color:#0550ae}button{font:inherit;padding:.4rem 1rem}</style>
</head><body><main>
<h1>${escapeHtml(title)}</h1>
${paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}
${extraHtml}
<p><a href="/">Back to the dashboard</a></p>
</main></body></html>
`;
}

/** A link, escaped. */
export function link(href: string, text: string): string {
  return `<a href="${escapeHtml(href)}">${escapeHtml(text)}</a>`;
}
