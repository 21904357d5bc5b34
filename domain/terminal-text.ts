/**
 * Terminal-safe text. Anything that came from outside (an approval reason, an identity typed with
 * `--as`, a resource name, a value read from a cluster or a cloud API) may carry bytes a terminal
 * obeys instead of showing: ANSI/CSI and OSC escape sequences (clear the screen, set the window
 * title, print in green, hyperlinks), their 8-bit C1 forms, and bidi controls that reorder what a
 * person reads. `visible` turns every such character into a short printable escape, so the text
 * shows what it contains and nothing more.
 *
 * Pure and deterministic: no Node built-ins, safe inside the workflow sandbox.
 */

/** Which harmless layout characters a caller keeps as they are. Everything else is escaped. */
export interface VisibleOptions {
  /** Keep `\n` (multi-line messages). Default false: a one-line field cannot fake a line of its own. */
  keepNewlines?: boolean;
  /** Keep `\t`. Default false. */
  keepTabs?: boolean;
}

// Escaped, always:
// - C0 controls U+0000–U+001F (ESC starts CSI/OSC sequences; BEL ends OSC; CR rewrites a line) and DEL;
// - C1 controls U+0080–U+009F (U+009B is an 8-bit CSI, U+009D an 8-bit OSC; U+0085 is a line break);
// - bidi controls: ALM U+061C, LRM/RLM U+200E/U+200F, embeddings and overrides U+202A–U+202E,
//   isolates U+2066–U+2069;
// - invisible format characters that only hide or smuggle text: soft hyphen U+00AD, Mongolian vowel
//   separator U+180E, zero-width space U+200B, line/paragraph separators U+2028/U+2029, word joiner
//   and invisible operators U+2060–U+2064, deprecated format controls U+206A–U+206F, BOM U+FEFF,
//   interlinear annotations U+FFF9–U+FFFB, tag characters U+E0000–U+E007F;
// - lone surrogates (not text; a terminal would show U+FFFD and hide what was sent).
// Kept: ZWNJ/ZWJ U+200C/U+200D, which Persian, Indic scripts and emoji sequences need, and which
// move no cursor. A backslash is not escaped, so `visible` is idempotent: text already made visible
// (say, a reason stored by the lifecycle) shows the same when made visible again.
const ALWAYS =
  '\\u0000-\\u0008\\u000b\\u000c\\u000d-\\u001f\\u007f-\\u009f\\u00ad\\u061c\\u180e\\u200b\\u200e\\u200f' +
  '\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ud800-\\udfff\\ufeff\\ufff9-\\ufffb\\u{e0000}-\\u{e007f}';

const patterns = new Map<string, RegExp>();

function patternFor(keepNewlines: boolean, keepTabs: boolean): RegExp {
  const key = `${keepNewlines ? 'n' : ''}${keepTabs ? 't' : ''}`;
  let re = patterns.get(key);
  if (!re) {
    const layout = `${keepNewlines ? '' : '\\n'}${keepTabs ? '' : '\\t'}`;
    // With the `u` flag a regex reads code points: a surrogate pair is one code point above U+FFFF,
    // so the U+D800–U+DFFF range matches lone halves only.
    re = new RegExp(`[${ALWAYS}${layout}]`, 'gu');
    patterns.set(key, re);
  }
  return re;
}

const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** The printable escape of one character: `\n`, `\r`, `\t`, `\x1b`, `\u202e`, `\u{e0041}`. */
export function escapeChar(ch: string): string {
  const short = SHORT[ch];
  if (short) return short;
  const cp = ch.codePointAt(0) ?? 0;
  if (cp <= 0xff) return `\\x${cp.toString(16).padStart(2, '0')}`;
  if (cp <= 0xffff) return `\\u${cp.toString(16).padStart(4, '0')}`;
  return `\\u{${cp.toString(16)}}`;
}

/**
 * Makes every control, bidi and invisible format character of `text` visible as a printable escape
 * (`\x1b[2J` stays readable as the seven characters `\x1b[2J`; U+202E becomes `\u202e`), so a
 * terminal shows the text and obeys none of it. Idempotent. Newlines and tabs are escaped too
 * unless `options` keeps them.
 */
export function visible(text: string, options: VisibleOptions = {}): string {
  return text.replace(patternFor(options.keepNewlines === true, options.keepTabs === true), escapeChar);
}

/** True when `visible` would change `text`: it holds a control, bidi or invisible format character. */
export function hasInvisible(text: string, options: VisibleOptions = {}): boolean {
  const re = patternFor(options.keepNewlines === true, options.keepTabs === true);
  re.lastIndex = 0;
  const found = re.test(text);
  re.lastIndex = 0;
  return found;
}

/**
 * A template tag for one line of terminal text: every interpolated value is made `visible` (so a
 * value cannot bring a newline, an escape sequence or a bidi override into the line); the
 * literal parts written by the program are kept as they are.
 */
export function escaped(strings: TemplateStringsArray, ...values: unknown[]): string {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += visible(String(value)) + (strings[i + 1] ?? '');
  });
  return out;
}

const jsonEscape = (ch: string): string => {
  let out = '';
  for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
};

/**
 * JSON text made safe for a terminal without changing its value: every character `visible` would
 * escape becomes a JSON `\uXXXX` escape (JSON.stringify leaves DEL, C1 controls such as the 8-bit
 * CSI, bidi and invisible format characters raw). Meant for JSON.stringify output, where such
 * characters can only sit inside strings; its layout newlines and indentation are kept.
 */
export function visibleJson(json: string): string {
  return json.replace(patternFor(true, true), jsonEscape);
}
