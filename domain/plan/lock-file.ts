/**
 * The dependency lock file of OpenTofu/Terraform (`.terraform.lock.hcl`): which provider versions
 * a stack is pinned to. Read to tell a provider upgrade apart from drift (domain text §15, §24.5):
 * when the versions changed since the last successful detection and a diff only touches computed or
 * representation fields, the new provider reads the same object differently. Pure: no I/O.
 *
 * The file is the small HCL subset `tofu init` writes: `provider "<address>" { version = "...",
 * constraints = "...", hashes = [ "...", ] }`, with `#`, `//` and `/* *\/` comments.
 */
import { InputError } from '../errors';

/** One `provider` block of a lock file. */
export interface LockedProvider {
  /** The provider source address as written (`registry.opentofu.org/hashicorp/aws`). */
  address: string;
  version?: string;
  constraints?: string;
}

/** A provider whose locked version differs between two lock files. `from`/`to` absent: not locked then. */
export interface ProviderVersionChange {
  provider: string;
  from?: string;
  to?: string;
}

type Tok =
  | { t: 'str'; v: string; line: number }
  | { t: 'ident'; v: string; line: number }
  | { t: 'punct'; v: string; line: number };

function tokenize(text: string, file: string | undefined): Tok[] {
  const out: Tok[] = [];
  let line = 1;
  let i = 0;
  const fail = (message: string): never => {
    throw new InputError(message, { ...(file ? { file } : {}), line });
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\uFEFF') {
      i++;
    } else if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) fail('unterminated /* comment');
      for (let k = i; k < end; k++) if (text[k] === '\n') line++;
      i = end + 2;
    } else if (c === '"') {
      let v = '';
      i++;
      for (;;) {
        if (i >= text.length || text[i] === '\n') fail('unterminated string');
        const d = text[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\') {
          const e = text[i + 1];
          const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };
          if (e !== undefined && e in simple) {
            v += simple[e];
            i += 2;
          } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            v += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
            i += 6;
          } else fail(`unsupported escape \\${e ?? ''} in a string`);
        } else {
          v += d;
          i++;
        }
      }
      out.push({ t: 'str', v, line });
    } else if ('{}[]=,'.includes(c)) {
      out.push({ t: 'punct', v: c, line });
      i++;
    } else if (/[A-Za-z0-9_.-]/.test(c)) {
      let j = i;
      while (j < text.length && /[A-Za-z0-9_.-]/.test(text[j]!)) j++;
      out.push({ t: 'ident', v: text.slice(i, j), line });
      i = j;
    } else {
      fail(`unexpected character ${JSON.stringify(c)}`);
    }
  }
  return out;
}

/**
 * Parses a lock file into its provider blocks, keyed by address. Throws an {@link InputError}
 * (with the line) on text that is not a lock file: a syntax error, a provider block without an
 * address, a provider locked twice, a `version` or `constraints` that is not a string.
 * Blocks other than `provider` are skipped (the format may grow).
 */
export function parseLockFile(text: string, file?: string): Map<string, LockedProvider> {
  const toks = tokenize(text, file);
  const providers = new Map<string, LockedProvider>();
  let i = 0;
  const at = (line: number | undefined) => ({
    ...(file ? { file } : {}),
    ...(line !== undefined ? { line } : {}),
  });
  const fail = (message: string, tok: Tok | undefined): never => {
    throw new InputError(message, at(tok?.line ?? toks[toks.length - 1]?.line));
  };
  const expect = (t: Tok['t'], v?: string): Tok => {
    const tok = toks[i];
    if (!tok || tok.t !== t || (v !== undefined && tok.v !== v))
      fail(`expected ${v ?? t}, found ${tok ? JSON.stringify(tok.v) : 'the end of the file'}`, tok);
    i++;
    return tok!;
  };
  /** Skips one value: a string, an identifier, or a balanced list/object. */
  const skipValue = (): void => {
    const tok = toks[i];
    if (!tok) fail('expected a value, found the end of the file', tok);
    if (tok!.t === 'punct' && (tok!.v === '[' || tok!.v === '{')) {
      let depth = 0;
      do {
        const x = toks[i];
        if (!x) fail('unbalanced brackets', tok);
        if (x!.t === 'punct' && (x!.v === '[' || x!.v === '{')) depth++;
        if (x!.t === 'punct' && (x!.v === ']' || x!.v === '}')) depth--;
        i++;
      } while (depth > 0);
      return;
    }
    if (tok!.t === 'punct') fail(`expected a value, found ${JSON.stringify(tok!.v)}`, tok);
    i++;
  };
  /** Reads a block body `{ ... }`: its string attributes (others skipped). */
  const body = (): Map<string, Tok> => {
    expect('punct', '{');
    const attrs = new Map<string, Tok>();
    for (;;) {
      const tok = toks[i];
      if (!tok) fail('unterminated block', tok);
      if (tok!.t === 'punct' && tok!.v === '}') {
        i++;
        return attrs;
      }
      const name = expect('ident');
      const next = toks[i];
      if (next?.t === 'punct' && next.v === '=') {
        i++;
        attrs.set(name.v, toks[i]!);
        skipValue();
      } else {
        // A nested block: labels, then its body.
        while (toks[i]?.t === 'str') i++;
        body();
      }
    }
  };
  while (i < toks.length) {
    const kw = expect('ident');
    const labels: Tok[] = [];
    while (toks[i]?.t === 'str') labels.push(toks[i++]!);
    const attrs = body();
    if (kw.v !== 'provider') continue;
    const address = labels[0]?.v;
    if (labels.length !== 1 || !address)
      fail('a provider block needs exactly one label: its source address', kw);
    if (providers.has(address!)) fail(`provider ${address} is locked twice`, kw);
    const p: LockedProvider = { address: address! };
    for (const key of ['version', 'constraints'] as const) {
      const v = attrs.get(key);
      if (v === undefined) continue;
      if (v.t !== 'str') fail(`provider ${address}: ${key} must be a string`, v);
      p[key] = v.v;
    }
    providers.set(address!, p);
  }
  return providers;
}

/** The locked version of each provider (address → version); providers without a version are left out. */
export function lockedVersions(text: string, file?: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [address, p] of [...parseLockFile(text, file)].sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  )) {
    if (p.version !== undefined) out[address] = p.version;
  }
  return out;
}

/** Providers whose locked version differs between `before` and `after` (added and removed too), by address. */
export function providerVersionChanges(
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
): ProviderVersionChange[] {
  const out: ProviderVersionChange[] = [];
  for (const provider of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const from = before[provider];
    const to = after[provider];
    if (from === to) continue;
    out.push({ provider, ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) });
  }
  return out;
}

/**
 * `namespace/type` of a provider address: the public registries' hostnames are dropped
 * (`registry.opentofu.org/hashicorp/aws` and `registry.terraform.io/hashicorp/aws` are both
 * `hashicorp/aws`, the same provider under OpenTofu and Terraform); another host stays.
 */
export function shortProviderName(address: string): string {
  const parts = address.split('/');
  if (parts.length === 3 && (parts[0] === 'registry.opentofu.org' || parts[0] === 'registry.terraform.io'))
    return `${parts[1]}/${parts[2]}`;
  return address;
}

/** True when two provider addresses name the same provider (see {@link shortProviderName}). */
export function sameProvider(a: string, b: string): boolean {
  return a === b || shortProviderName(a) === shortProviderName(b);
}

/** `{from, to}` as an observation's `context.providerUpgrade` says it: `"hashicorp/aws 5.1.0"` → `"hashicorp/aws 5.2.0"`. */
export function describeProviderUpgrade(
  changes: readonly ProviderVersionChange[],
): { from: string; to: string } | undefined {
  if (changes.length === 0) return undefined;
  const side = (k: 'from' | 'to') =>
    changes.map((c) => `${shortProviderName(c.provider)} ${c[k] ?? 'none'}`).join(', ');
  return { from: side('from'), to: side('to') };
}
