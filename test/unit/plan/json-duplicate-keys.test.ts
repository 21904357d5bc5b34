import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../domain/errors';
import { findDuplicateKey } from '../../../domain/plan/json-duplicate-keys';
import { parsePlanJson } from '../../../domain/plan/parse-plan-json';

describe('findDuplicateKey', () => {
  it.each<[string, string, { key: string; pointer: string; line: number; column: number }]>([
    ['two equal keys at the root', '{"a":1,"a":2}', { key: 'a', pointer: '/a', line: 1, column: 8 }],
    [
      'an escaped key equals its decoded twin',
      '{"ab":1,"a\\u0062":2}',
      { key: 'ab', pointer: '/ab', line: 1, column: 9 },
    ],
    [
      'both escaped differently',
      '{"\\u0061":1,"\\u0041":0,"\\/a":3,"a":2}',
      { key: 'a', pointer: '/a', line: 1, column: 32 },
    ],
    [
      'an escaped quote and backslash in a key',
      '{"a\\"b\\\\":1,"a\\u0022b\\u005c":2}',
      { key: 'a"b\\', pointer: '/a"b\\', line: 1, column: 13 },
    ],
    [
      'a surrogate pair written two ways',
      '{"\u{1F600}":1,"\\ud83d\\ude00":2}',
      { key: '\u{1F600}', pointer: '/\u{1F600}', line: 1, column: 9 },
    ],
    [
      'deep in arrays and objects, with the line',
      '{\n "resource_changes": [\n  {"address": "a"},\n  {"change": {"actions": ["update"],\n   "actions": ["delete"]}}\n ]\n}',
      { key: 'actions', pointer: '/resource_changes/1/change/actions', line: 5, column: 4 },
    ],
    [
      'pointer tokens are escaped',
      '{"a/b":{"c~d":[0,{"x":1,"x":2}]}}',
      { key: 'x', pointer: '/a~1b/c~0d/1/x', line: 1, column: 25 },
    ],
    [
      'past the linear limit: the 20th key repeats the 17th',
      `{${Array.from({ length: 19 }, (_, i) => `"k${i}":${i}`).join(',')},"k16":0}`,
      { key: 'k16', pointer: '/k16', line: 1, column: 0 },
    ],
    [
      'past the linear limit: an early key repeated late',
      `{${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',')},"k0":0}`,
      { key: 'k0', pointer: '/k0', line: 1, column: 0 },
    ],
    [
      'past the linear limit, an escaped spelling of an early key',
      `{${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',')},"k\\u0030":0}`,
      { key: 'k0', pointer: '/k0', line: 1, column: 0 },
    ],
    [
      'nested 300 deep, past the first growth of the scan state',
      `${'{"a":['.repeat(150)}{"x":1,"x":2}${']}'.repeat(150)}`,
      { key: 'x', pointer: `${'/a/0'.repeat(150)}/x`, line: 1, column: 0 },
    ],
    [
      'an escaped key switches an object to decoded keys midway',
      '{"a":1,"b":2,"c\\n":3,"d":4,"b":5}',
      { key: 'b', pointer: '/b', line: 1, column: 28 },
    ],
  ])('%s', (_name, text, expected) => {
    const d = findDuplicateKey(text);
    expect(d).toBeDefined();
    expect(d!.key).toBe(expected.key);
    expect(d!.pointer).toBe(expected.pointer);
    expect(d!.line).toBe(expected.line);
    expect(text.slice(d!.offset, d!.offset + 1)).toBe('"');
    if (expected.column > 0) expect(d!.column).toBe(expected.column);
  });

  it.each<[string, string]>([
    ['distinct keys', '{"a":1,"b":2,"ab":3}'],
    ['equal keys in sibling objects', '{"x":{"a":1},"y":{"a":2},"z":[{"a":1},{"a":2}]}'],
    ['equal keys at different depths', '{"a":{"a":{"a":1}}}'],
    ['keys that only look equal in values', '{"a":"\\"a\\":1","b":["a","a"],"c":"{\\"a\\":1,\\"a\\":2}"}'],
    ['case differs', '{"a":1,"A":2}'],
    ['a backslash before the quote of a value, then keys', '{"a":"x\\\\","b":"\\\\\\"","c":1}'],
    ['no object at all', '[1,"a","a",null,true]'],
    ['scalars', '"a"'],
    ['an empty object and array', '{"a":{},"b":[],"c":{}}'],
    ['whitespace everywhere', ' {\n\t"a" : 1 ,\r\n "b" :\n[ { "a" : 1 } , { "a" : 2 } ] } '],
    ['many keys, all distinct', `{${Array.from({ length: 100 }, (_, i) => `"k${i}":${i}`).join(',')}}`],
    ['keys of equal length and hash-like', '{"ab":1,"ba":2,"Ab":3,"aB":4}'],
  ])('none in %s', (_name, text) => {
    expect(() => JSON.parse(text) as unknown).not.toThrow();
    expect(findDuplicateKey(text)).toBeUndefined();
  });

  it.each(['{"a":1,"a"', '{"a":"unterminated', '{{{{', '}}]]', '"\\', ''])(
    'ends without throwing on text that is not JSON: %j',
    (text) => {
      expect(() => findDuplicateKey(text)).not.toThrow();
    },
  );

  // Reference: a JSON value written as text from a tree whose objects are lists of [key, value]
  // pairs (so keys may repeat), each key spelled in one of several equivalent ways. The first
  // repeat in document order is the one the scanner must report.
  type Tree = number | string | Tree[] | { pairs: [string, Tree][] };
  const keyChars = fc.constantFrom('a', 'b', '/', '~', '"', '\\', 'é', '\u{1F600}', ' ');
  const key = fc.array(keyChars, { minLength: 0, maxLength: 3 }).map((cs) => cs.join(''));
  const tree: fc.Arbitrary<Tree> = fc.letrec<{ t: Tree }>((tie) => ({
    t: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.integer({ min: -3, max: 3 }),
      key,
      fc.array(tie('t'), { maxLength: 4 }),
      fc.array(fc.tuple(key, tie('t')), { maxLength: 6 }).map((pairs) => ({ pairs })),
    ),
  })).t;

  function spell(s: string, how: number): string {
    let out = '';
    for (const ch of s) {
      const escape = (how + out.length) % 3 === 0;
      if (ch === '"' || ch === '\\') out += `\\${ch}`;
      else if (ch === '/' && escape) out += '\\/';
      else if (escape) {
        for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
      } else out += ch;
    }
    return `"${out}"`;
  }

  function write(t: Tree, how: number): string {
    if (typeof t === 'number') return String(t);
    if (typeof t === 'string') return spell(t, how);
    if (Array.isArray(t)) return `[ ${t.map((x, i) => write(x, how + i)).join(' ,\n')} ]`;
    return `{${t.pairs.map(([k, v], i) => `${spell(k, how + i)}:${write(v, how + 2 * i)}`).join(',')}}`;
  }

  function firstRepeat(t: Tree, path: (string | number)[] = []): { key: string; path: string[] } | undefined {
    if (typeof t !== 'object') return undefined;
    if (Array.isArray(t)) {
      for (let i = 0; i < t.length; i++) {
        const r = firstRepeat(t[i]!, [...path, i]);
        if (r) return r;
      }
      return undefined;
    }
    const seen = new Set<string>();
    for (const [k, v] of t.pairs) {
      if (seen.has(k)) return { key: k, path: [...path, k].map(String) };
      seen.add(k);
      const r = firstRepeat(v, [...path, k]);
      if (r) return r;
    }
    return undefined;
  }

  it('agrees with a reference on random documents with repeated, escaped keys', () => {
    let repeats = 0;
    let escapedRepeats = 0;
    fc.assert(
      fc.property(tree, fc.nat(5), (t, how) => {
        const text = write(t, how);
        expect(() => JSON.parse(text) as unknown).not.toThrow();
        const expected = firstRepeat(t);
        const found = findDuplicateKey(text);
        if (!expected) {
          expect(found).toBeUndefined();
          return;
        }
        repeats++;
        if (text.includes('\\u')) escapedRepeats++;
        expect(found?.key).toBe(expected.key);
        const pointer = expected.path.map((p) => `/${p.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
        expect(found?.pointer).toBe(pointer);
        expect(found?.line).toBe(text.slice(0, found!.offset).split('\n').length);
      }),
      { numRuns: 2000 },
    );
    // The generator does make repeats, and spells keys with escapes: the check above is not vacuous.
    expect(repeats).toBeGreaterThan(200);
    expect(escapedRepeats).toBeGreaterThan(100);
  });
});

describe('parsePlanJson', () => {
  const error = (text: string): InputError => {
    try {
      parsePlanJson(text, 'plan.json');
    } catch (e) {
      if (e instanceof InputError) return e;
      throw e;
    }
    throw new Error('no error');
  };

  it('refuses a repeated key, naming the file, line, column, field and key', () => {
    const e = error('{\n  "format_version": "1.2",\n  "format_version": "1.1"\n}');
    expect(e.location).toEqual({ file: 'plan.json', line: 3, column: 3, field: '/format_version' });
    expect(e.message).toBe(
      'plan.json:3:3 field /format_version: duplicate key "format_version" in one object (JSON.parse would keep only the last)',
    );
  });

  it('never prints a sensitive value, even when it is the repeated key of a sensitive map', () => {
    const plan = `{"format_version":"1.2","resource_changes":[{"address":"x.y","type":"x","change":{
      "actions":["update"],"before":{"secrets":{"DB_PASSWORD_KEY":"a"}},
      "after":{"secrets":{"DB_PASSWORD_KEY":"hunter2hunter2","DB_PASSWORD_KEY":"b"}},
      "before_sensitive":{"secrets":true},"after_sensitive":{"secrets":true}}}]}`;
    const e = error(plan);
    expect(e.message).toMatch(/duplicate key/);
    expect(e.message).not.toContain('DB_PASSWORD_KEY');
    expect(e.message).not.toContain('hunter2');
  });

  it('refuses bad JSON with the line and column, never quoting the input', () => {
    const e = error('{\n  "format_version": "1.2",\n  "token": "s3cr3t-value" x\n}');
    expect(e.location.file).toBe('plan.json');
    expect(e.location.line).toBe(3);
    expect(e.message).toMatch(/^plan\.json:3:\d+: not valid JSON/);
    expect(e.message).not.toContain('s3cr3t');
  });

  it('returns the parsed value when every key is distinct', () => {
    expect(parsePlanJson('{"a":{"b":1},"b":[{"a":1}]}')).toEqual({ a: { b: 1 }, b: [{ a: 1 }] });
  });
});
