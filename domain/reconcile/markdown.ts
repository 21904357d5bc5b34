/**
 * Markdown that user-controlled text cannot break. A resource name, a reason typed in Slack, a value
 * read from a cluster or a cloud API may hold characters Markdown obeys: a `|` that ends a table
 * cell, a backtick that ends a code span, `<` that opens raw HTML (GitHub renders some of it), `[`
 * that starts a link, `*` and `_` that start emphasis, a newline that starts a heading or a list.
 * These helpers render such text so it shows exactly what it contains and nothing more.
 *
 * Pure and deterministic: no Node built-ins.
 */
import { visible } from '../terminal-text';

// ASCII punctuation that changes meaning anywhere in a line (CommonMark lets any ASCII punctuation
// be backslash-escaped, so escaping a character that would not have mattered is harmless).
const INLINE_SPECIAL = /[\\`*_{}[\]<>|~&!]/g;

// Constructs that only matter at the start of a line: headings, quotes, lists, thematic breaks,
// setext underlines, fenced code, indented code (four spaces).
const LINE_START = /^(\s*)([#>+=-]|\d+[.)])/;

/**
 * Escapes one line (or a paragraph, with `multiline`) of plain text for Markdown prose. Control,
 * bidi and invisible characters become printable escapes (`\x1b`, `\u202e`); without `multiline`
 * a newline becomes `\n` too, so a value cannot start a line of its own.
 */
export function mdText(text: string, options: { multiline?: boolean } = {}): string {
  const multiline = options.multiline === true;
  const shown = visible(text, { keepNewlines: multiline });
  const lines = shown.split('\n').map((line) => {
    let out = line.replace(INLINE_SPECIAL, (ch) => `\\${ch}`);
    if (multiline) {
      // Leading spaces would make indented code; a line-start construct would make structure.
      out = out.replace(/^ +/, '');
      out = out.replace(LINE_START, (_m, ws: string, mark: string) => `${ws}${mark.replace(/([#>+=.)-])$/, '\\$1')}`);
    }
    return out;
  });
  return lines.join('\n');
}

/**
 * A code span holding `text` literally: the fence is one backtick longer than the longest run of
 * backticks inside, padded with a space when the text starts or ends with a backtick. In a table
 * cell (`inTable`) a `|` is escaped as `\|`, which GFM applies even inside code spans.
 */
export function mdCode(text: string, options: { inTable?: boolean } = {}): string {
  let shown = visible(text);
  if (options.inTable) shown = shown.replace(/\|/g, '\\|');
  if (shown === '') return '` `';
  let longest = 0;
  for (const run of shown.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  const fence = '`'.repeat(longest + 1);
  const pad = shown.startsWith('`') || shown.endsWith('`') || (shown.startsWith(' ') && shown.endsWith(' ')) ? ' ' : '';
  return `${fence}${pad}${shown}${pad}${fence}`;
}

/** A fenced code block holding `text` literally (the fence outgrows any backtick run inside). */
export function mdFence(text: string, info = 'text'): string {
  const shown = visible(text, { keepNewlines: true, keepTabs: true });
  let longest = 2;
  for (const run of shown.match(/`{3,}/g) ?? []) longest = Math.max(longest, run.length);
  const fence = '`'.repeat(longest + 1);
  return `${fence}${info}\n${shown.replace(/\n+$/, '')}\n${fence}`;
}

const SAFE_URL = /^https?:\/\/[^\s<>`|\\"'()[\]{}]+$/;

/**
 * A link target: an `http(s)` URL made of plain URL characters becomes an autolink (`<https://…>`);
 * anything else (an `s3://` or `cloudtrail://` address, a URL with odd characters) a code span.
 */
export function mdLink(uri: string): string {
  const shown = visible(uri);
  return SAFE_URL.test(shown) ? `<${shown}>` : mdCode(shown);
}

/** One row of a GFM table; each cell must already be rendered (use `mdCode(x, {inTable: true})`). */
export function mdRow(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** Escapes a cell of prose for a GFM table row (`|` included). */
export function mdCell(text: string): string {
  return mdText(text);
}
