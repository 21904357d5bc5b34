/**
 * OpenTofu configuration edits for reconciliation PRs: `import` and `moved` blocks (§12: Import,
 * State move), and the replacement of one literal attribute of one resource (Git update PR).
 *
 * The literal edit is deliberately narrow. A small scanner that understands strings, templates,
 * comments and heredocs finds `resource "TYPE" "NAME" {` and its top-level `attribute = <literal>`,
 * and only that literal's text is replaced: comments, layout and every other resource stay byte for
 * byte. Anything else (an expression, a reference, a template, a nested or dynamic block, a file
 * that does not parse) is refused with a reason the PR body shows as a manual edit.
 *
 * The HCL parser (`@cdktf/hcl2json`) reads its WebAssembly from disk when loaded, so it is passed
 * in (`HclParser`): domain/ stays free of I/O. Callers pass `parse` from `@cdktf/hcl2json` as is.
 */

/** Parses HCL text into its JSON form; `@cdktf/hcl2json`'s `parse` has this shape. Rejects when the text does not parse. */
export type HclParser = (fileName: string, text: string) => Promise<Record<string, unknown>>;

/** A resource address is not one `[module.x.]type.name[index]` can be. */
export class HclAddressError extends Error {
  override readonly name = 'HclAddressError';
  constructor(
    readonly address: string,
    readonly role: string,
  ) {
    super(`invalid resource address for ${role}: ${JSON.stringify(address)} (expected [module.<name>[<index>].]<type>.<name>[<index>])`);
  }
}

const IDENT = '[A-Za-z_][A-Za-z0-9_-]*';
const INDEX = '(?:\\[(?:\\d+|"(?:[^"\\\\]|\\\\.)*")\\])';
/** `[module.x[idx].]…type.name[idx]`: a managed resource address (data sources cannot be imported or moved by these helpers). */
export const RESOURCE_ADDRESS = new RegExp(`^(?:module\\.${IDENT}${INDEX}?\\.)*(?!data\\.|module\\.)${IDENT}\\.${IDENT}${INDEX}?$`);

function checkAddress(address: string, role: string): string {
  if (!RESOURCE_ADDRESS.test(address)) throw new HclAddressError(address, role);
  return address;
}

/**
 * An HCL quoted string: `"` and `\` escaped, newlines and controls as escapes, and template
 * sequences neutralized (`${` → `$${`, `%{` → `%%{`) so the value is taken literally.
 */
export function hclString(value: string): string {
  let out = '';
  for (const ch of value) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  // A replacement function: in a replacement string `$$` would mean a single `$`.
  return `"${out.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{')}"`;
}

/**
 * An `import` block (OpenTofu ≥ 1.5) bringing the existing resource `id` under `to`.
 * Throws `HclAddressError` when `to` is not a resource address.
 */
export function importBlock(input: { to: string; id: string }): string {
  const to = checkAddress(input.to, 'import.to');
  return `import {\n  to = ${to}\n  id = ${hclString(input.id)}\n}\n`;
}

/**
 * A `moved` block recording that `from` is now `to`, so OpenTofu keeps the object instead of
 * destroying and recreating it. Throws `HclAddressError` on an invalid address or `from === to`.
 */
export function movedBlock(input: { from: string; to: string }): string {
  const from = checkAddress(input.from, 'moved.from');
  const to = checkAddress(input.to, 'moved.to');
  if (from === to) throw new HclAddressError(to, 'moved.to (same as moved.from)');
  // `tofu fmt` aligns the equals signs of consecutive attributes.
  return `moved {\n  from = ${from}\n  to   = ${to}\n}\n`;
}

/** Appends rendered blocks to a file's text: one blank line before each, one newline at the end. */
export function appendBlocks(text: string, blocks: readonly string[]): string {
  const head = text.replace(/\s+$/, '');
  const body = blocks.map((b) => b.replace(/\s+$/, '')).join('\n\n');
  if (body === '') return text;
  return head === '' ? `${body}\n` : `${head}\n\n${body}\n`;
}

/**
 * What to tell a reviewer of an IMPORT PR: how to have OpenTofu write the imported resource's
 * configuration. Plain text (the PR body shows it in a text block).
 */
export function importCommandHint(dir: string): string {
  const chdir = dir === '' || dir === '.' ? '' : ` -chdir=${shellQuote(dir)}`;
  return [
    'This PR adds an import block. To write the configuration of the imported resource, run on this branch:',
    '',
    `  tofu${chdir} plan -generate-config-out=generated.tf`,
    '',
    'Review generated.tf (it holds every argument the provider reports, defaults included), trim it,',
    'move its resource block next to the import block, and commit it. The plan must then show',
    '"1 to import, 0 to add, 0 to change, 0 to destroy".',
  ].join('\n');
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

// ---------------------------------------------------------------- scanner

type TokKind = 'ident' | 'string' | 'heredoc' | 'number' | 'punct' | 'newline' | 'comment' | 'other';

interface Tok {
  kind: TokKind;
  start: number;
  end: number;
  text: string;
  /** For strings: true when the string holds a template sequence (`${…}` or `%{…}`). */
  template?: boolean;
}

class ScanError extends Error {}

/** Where a quoted string starting at `i` (on the `"`) ends (just after the closing `"`), and whether it holds a template. */
function scanString(src: string, i: number): { end: number; template: boolean } {
  let j = i + 1;
  let template = false;
  while (j < src.length) {
    const c = src[j];
    if (c === '\\') {
      j += 2;
      continue;
    }
    if (c === '"') return { end: j + 1, template };
    if (c === '\n') throw new ScanError(`unterminated string at offset ${i}`);
    if ((c === '$' || c === '%') && src[j + 1] === c && src[j + 2] === '{') {
      j += 3; // `$${` and `%%{` are escapes for a literal `${` / `%{`
      continue;
    }
    if ((c === '$' || c === '%') && src[j + 1] === '{') {
      template = true;
      j = scanTemplate(src, j + 2);
      continue;
    }
    j++;
  }
  throw new ScanError(`unterminated string at offset ${i}`);
}

/** Skips a template interpolation body starting after `${`, returning the offset after its `}`. */
function scanTemplate(src: string, i: number): number {
  let depth = 1;
  let j = i;
  while (j < src.length) {
    const c = src[j];
    if (c === '"') {
      j = scanString(src, j).end;
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) return j + 1;
    }
    j++;
  }
  throw new ScanError(`unterminated template at offset ${i}`);
}

function tokenize(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const push = (kind: TokKind, start: number, end: number, extra: Partial<Tok> = {}): void => {
    toks.push({ kind, start, end, text: src.slice(start, end), ...extra });
  };
  while (i < src.length) {
    const c = src[i] as string;
    if (c === '\n') {
      push('newline', i, i + 1);
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '#' || (c === '/' && src[i + 1] === '/')) {
      const nl = src.indexOf('\n', i);
      const end = nl === -1 ? src.length : nl;
      push('comment', i, end);
      i = end;
    } else if (c === '/' && src[i + 1] === '*') {
      const close = src.indexOf('*/', i + 2);
      if (close === -1) throw new ScanError(`unterminated comment at offset ${i}`);
      push('comment', i, close + 2);
      i = close + 2;
    } else if (c === '"') {
      const s = scanString(src, i);
      push('string', i, s.end, { template: s.template });
      i = s.end;
    } else if (c === '<' && src[i + 1] === '<' && /^<<-?[A-Za-z_]/.test(src.slice(i, i + 4))) {
      const m = /^<<-?([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?\n/.exec(src.slice(i));
      if (!m) throw new ScanError(`malformed heredoc at offset ${i}`);
      const marker = m[1] as string;
      let j = i + m[0].length;
      let end = -1;
      while (j <= src.length) {
        const nl = src.indexOf('\n', j);
        const lineEnd = nl === -1 ? src.length : nl;
        if (src.slice(j, lineEnd).trim() === marker) {
          end = lineEnd;
          break;
        }
        if (nl === -1) break;
        j = nl + 1;
      }
      if (end === -1) throw new ScanError(`unterminated heredoc <<${marker} at offset ${i}`);
      push('heredoc', i, end);
      i = end;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < src.length && /[A-Za-z0-9_-]/.test(src[j] as string)) j++;
      push('ident', i, j);
      i = j;
    } else if (/[0-9]/.test(c)) {
      const m = /^\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(src.slice(i)) as RegExpExecArray;
      push('number', i, i + m[0].length);
      i += m[0].length;
    } else if ('{}[]()=,.:?!<>+-*/%&|'.includes(c)) {
      // Two-character operators matter only for telling `=` from `==`, `<=`, `>=`, `!=`.
      const two = src.slice(i, i + 2);
      const len = ['==', '!=', '<=', '>=', '&&', '||', '=>'].includes(two) ? 2 : 1;
      push('punct', i, i + len);
      i += len;
    } else {
      push('other', i, i + 1);
      i++;
    }
  }
  return toks;
}

interface AttributeSpan {
  name: string;
  /** The expression tokens (comments excluded). */
  expr: Tok[];
}

interface BlockBody {
  attributes: Map<string, AttributeSpan[]>;
  /** Nested block types (`ingress`), and for `dynamic "x"` the generated type `x`. */
  blocks: Map<string, 'block' | 'dynamic'>;
}

const OPEN: Record<string, string> = { '{': '}', '[': ']', '(': ')' };

/** Index just after the bracket matching the one at `toks[i]`. */
function matchBracket(toks: Tok[], i: number): number {
  const stack: string[] = [];
  for (let j = i; j < toks.length; j++) {
    const t = toks[j] as Tok;
    if (t.kind !== 'punct') continue;
    if (OPEN[t.text]) stack.push(OPEN[t.text] as string);
    else if (t.text === '}' || t.text === ']' || t.text === ')') {
      if (stack.pop() !== t.text) throw new ScanError(`unbalanced ${t.text} at offset ${t.start}`);
      if (stack.length === 0) return j + 1;
    }
  }
  throw new ScanError(`unclosed ${toks[i]?.text ?? ''} at offset ${toks[i]?.start ?? 0}`);
}

/** Reads the items of a body from `i` (after `{`) to `end` (the index of the closing `}`). */
function readBody(toks: Tok[], i: number, end: number): BlockBody {
  const body: BlockBody = { attributes: new Map(), blocks: new Map() };
  let j = i;
  while (j < end) {
    const t = toks[j] as Tok;
    if (t.kind === 'newline' || t.kind === 'comment') {
      j++;
      continue;
    }
    if (t.kind !== 'ident') throw new ScanError(`unexpected ${JSON.stringify(t.text)} at offset ${t.start}`);
    const next = toks[j + 1];
    if (next?.kind === 'punct' && next.text === '=') {
      // An attribute: its expression runs to the end of the line, outside brackets.
      const expr: Tok[] = [];
      let k = j + 2;
      while (k < end) {
        const e = toks[k] as Tok;
        if (e.kind === 'newline') break;
        if (e.kind === 'comment') {
          k++;
          continue;
        }
        if (e.kind === 'punct' && OPEN[e.text]) {
          const close = matchBracket(toks, k);
          for (let m = k; m < close; m++) if ((toks[m] as Tok).kind !== 'comment') expr.push(toks[m] as Tok);
          k = close;
          continue;
        }
        expr.push(e);
        k++;
      }
      const list = body.attributes.get(t.text) ?? [];
      list.push({ name: t.text, expr });
      body.attributes.set(t.text, list);
      j = k;
      continue;
    }
    // A block: type, labels, `{`.
    let k = j + 1;
    const labels: string[] = [];
    while (k < end && ((toks[k] as Tok).kind === 'string' || (toks[k] as Tok).kind === 'ident')) {
      labels.push((toks[k] as Tok).text.replace(/^"|"$/g, ''));
      k++;
    }
    const open = toks[k];
    if (!open || open.kind !== 'punct' || open.text !== '{')
      throw new ScanError(`expected "{" after block ${t.text} at offset ${t.start}`);
    if (t.text === 'dynamic' && labels[0] !== undefined) body.blocks.set(labels[0], 'dynamic');
    else if (!body.blocks.has(t.text)) body.blocks.set(t.text, 'block');
    j = matchBracket(toks, k);
  }
  return body;
}

interface ResourceBlock {
  body: BlockBody;
}

/** Every top-level `resource "TYPE" "NAME" { … }` block of a file. */
function resourceBlocks(toks: Tok[], type: string, name: string): ResourceBlock[] {
  const found: ResourceBlock[] = [];
  let j = 0;
  while (j < toks.length) {
    const t = toks[j] as Tok;
    if (t.kind === 'newline' || t.kind === 'comment') {
      j++;
      continue;
    }
    if (t.kind !== 'ident') throw new ScanError(`unexpected ${JSON.stringify(t.text)} at offset ${t.start}`);
    if (toks[j + 1]?.kind === 'punct' && toks[j + 1]?.text === '=') {
      // A top-level attribute (in a .tfvars-like file): skip its line.
      let k = j + 2;
      while (k < toks.length && (toks[k] as Tok).kind !== 'newline') {
        const e = toks[k] as Tok;
        k = e.kind === 'punct' && OPEN[e.text] ? matchBracket(toks, k) : k + 1;
      }
      j = k;
      continue;
    }
    let k = j + 1;
    const labels: string[] = [];
    while (k < toks.length && ((toks[k] as Tok).kind === 'string' || (toks[k] as Tok).kind === 'ident')) {
      labels.push((toks[k] as Tok).text.replace(/^"|"$/g, ''));
      k++;
    }
    const open = toks[k];
    if (!open || open.kind !== 'punct' || open.text !== '{')
      throw new ScanError(`expected "{" after block ${t.text} at offset ${t.start}`);
    const after = matchBracket(toks, k);
    if (t.text === 'resource' && labels[0] === type && labels[1] === name)
      found.push({ body: readBody(toks, k + 1, after - 1) });
    j = after;
  }
  return found;
}

// ---------------------------------------------------------------- literal edit

/** A literal value an attribute can be set to. */
export type HclLiteral = string | number | boolean;

/** Which attribute of which resource to set. */
export interface HclLiteralEdit {
  /** `TYPE.NAME`, e.g. `aws_security_group.app_public` (no module prefix, no instance index). */
  address: string;
  /** A top-level attribute of the resource block, e.g. `description`. */
  attribute: string;
  value: HclLiteral;
  /** The file's name, for parser messages (default `main.tf`). */
  fileName?: string;
}

/** The edited text, or why the edit was not made (shown to reviewers as a manual edit). */
export type HclEditResult = { ok: true; text: string } | { ok: false; reason: string };

function decodeHclString(quoted: string): string {
  const inner = quoted.slice(1, -1);
  return inner
    .replace(/\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)/g, (_m, e: string) => {
      switch (e[0]) {
        case 'n':
          return '\n';
        case 'r':
          return '\r';
        case 't':
          return '\t';
        case 'u':
        case 'U':
          return String.fromCodePoint(parseInt(e.slice(1), 16));
        default:
          return e;
      }
    })
    .replace(/\$\$\{/g, '${')
    .replace(/%%\{/g, '%{');
}

type LiteralReading = { literal: true; value: HclLiteral; tok: Tok } | { literal: false; what: string };

function readLiteral(expr: Tok[], src: string): LiteralReading {
  const text = expr.length === 0 ? '' : src.slice((expr[0] as Tok).start, (expr[expr.length - 1] as Tok).end).replace(/\s+/g, ' ');
  const short = text.length > 80 ? `${text.slice(0, 79)}…` : text;
  const first = expr[0];
  if (expr.length === 1 && first) {
    if (first.kind === 'string' && !first.template) return { literal: true, value: decodeHclString(first.text), tok: first };
    if (first.kind === 'string') return { literal: false, what: `the template ${short}` };
    if (first.kind === 'number') return { literal: true, value: Number(first.text), tok: first };
    if (first.kind === 'ident' && (first.text === 'true' || first.text === 'false'))
      return { literal: true, value: first.text === 'true', tok: first };
    if (first.kind === 'ident' && first.text === 'null') return { literal: false, what: 'null' };
    if (first.kind === 'heredoc') return { literal: false, what: 'a heredoc string' };
  }
  const second = expr[1];
  if (expr.length === 2 && first?.kind === 'punct' && first.text === '-' && second?.kind === 'number')
    return { literal: true, value: -Number(second.text), tok: { ...second, start: first.start, text: `-${second.text}` } };
  return { literal: false, what: `the expression ${short}` };
}

function renderLiteral(value: HclLiteral): string | undefined {
  if (typeof value === 'string') return hclString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (!Number.isFinite(value)) return undefined;
  return String(value);
}

/**
 * A value as hcl2json reports it: it emits the JSON syntax of OpenTofu, where a literal `${` or
 * `%{` in a string is written `$${` / `%%{` (a bare one would be a template).
 */
function asParsed(value: HclLiteral): HclLiteral {
  return typeof value === 'string' ? value.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{') : value;
}

function parsedAttribute(json: Record<string, unknown>, type: string, name: string, attribute: string): unknown {
  const byType = (json.resource as Record<string, unknown> | undefined)?.[type] as Record<string, unknown> | undefined;
  const blocks = byType?.[name];
  const block = Array.isArray(blocks) ? (blocks[0] as Record<string, unknown> | undefined) : undefined;
  return block?.[attribute];
}

/**
 * Sets one literal attribute of one resource, replacing only the literal's text. Refuses (ok:false,
 * with the reason) when the file does not parse, the address is not `TYPE.NAME`, the resource is
 * missing or declared twice, the attribute is missing, is a nested or dynamic block, or is set by
 * anything but a single string/number/bool literal (a variable, a reference, a function call, a
 * template, a heredoc, null). The result is parsed again to confirm the attribute holds the value.
 */
export async function setHclLiteral(text: string, edit: HclLiteralEdit, parse: HclParser): Promise<HclEditResult> {
  const fileName = edit.fileName ?? 'main.tf';
  const where = `${edit.address}.${edit.attribute}`;
  const m = new RegExp(`^(${IDENT})\\.(${IDENT})$`).exec(edit.address);
  if (!m) {
    if (RESOURCE_ADDRESS.test(edit.address))
      return {
        ok: false,
        reason: `${edit.address} names a module resource or one instance; only a resource declared in this file (TYPE.NAME) is edited`,
      };
    return { ok: false, reason: `${JSON.stringify(edit.address)} is not a resource address (TYPE.NAME)` };
  }
  const [, type, name] = m as unknown as [string, string, string];
  if (!new RegExp(`^${IDENT}$`).test(edit.attribute)) {
    const head = edit.attribute.split(/[.[/]/)[0] ?? edit.attribute;
    return {
      ok: false,
      reason: `${where} is not a top-level attribute name${head ? ` (it reaches inside ${head})` : ''}; only top-level literal attributes are edited`,
    };
  }
  const rendered = renderLiteral(edit.value);
  if (rendered === undefined) return { ok: false, reason: `${String(edit.value)} is not a value an HCL literal can hold` };

  let json: Record<string, unknown>;
  try {
    json = await parse(fileName, text);
  } catch (err) {
    return { ok: false, reason: `${fileName} does not parse: ${(err as Error).message}` };
  }

  let blocks: ResourceBlock[];
  try {
    blocks = resourceBlocks(tokenize(text), type, name);
  } catch (err) {
    return { ok: false, reason: `${fileName} could not be scanned: ${(err as Error).message}` };
  }
  if (blocks.length === 0) return { ok: false, reason: `resource "${type}" "${name}" is not declared in ${fileName}` };
  if (blocks.length > 1) return { ok: false, reason: `resource "${type}" "${name}" is declared ${blocks.length} times in ${fileName}` };
  const body = (blocks[0] as ResourceBlock).body;

  const kind = body.blocks.get(edit.attribute);
  if (kind === 'dynamic') return { ok: false, reason: `${where} is generated by a dynamic "${edit.attribute}" block, not a literal` };
  if (kind === 'block') return { ok: false, reason: `${where} is a nested block, not an attribute` };
  const spans = body.attributes.get(edit.attribute) ?? [];
  if (spans.length === 0)
    return { ok: false, reason: `${where} is not set in ${fileName} (its value comes from the provider's default); add it by hand` };
  if (spans.length > 1) return { ok: false, reason: `${where} is set ${spans.length} times in ${fileName}` };
  const reading = readLiteral((spans[0] as AttributeSpan).expr, text);
  if (!reading.literal) return { ok: false, reason: `${where} is set by ${reading.what}, not a literal` };

  // The parser must read the same literal the scanner found; anything else means the scanner is wrong here.
  const parsedBefore = parsedAttribute(json, type, name, edit.attribute);
  if (parsedBefore !== asParsed(reading.value))
    return { ok: false, reason: `${where}: the parser reads ${JSON.stringify(parsedBefore)} where the scanner read ${JSON.stringify(reading.value)}; edit it by hand` };

  const out = text.slice(0, reading.tok.start) + rendered + text.slice(reading.tok.end);
  let after: Record<string, unknown>;
  try {
    after = await parse(fileName, out);
  } catch (err) {
    return { ok: false, reason: `the edited ${fileName} does not parse: ${(err as Error).message}` };
  }
  const parsedAfter = parsedAttribute(after, type, name, edit.attribute);
  if (parsedAfter !== asParsed(edit.value))
    return { ok: false, reason: `${where}: after the edit the parser reads ${JSON.stringify(parsedAfter)}, not ${JSON.stringify(edit.value)}` };
  return { ok: true, text: out };
}
