import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escaped, hasInvisible, visible, visibleJson } from '../../domain/terminal-text';

// Every character a terminal or a bidi-aware renderer obeys instead of showing.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const DANGEROUS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

describe('visible: control, bidi and invisible characters become printable escapes', () => {
  it.each([
    ['CSI clear screen', '\x1b[2J', '\\x1b[2J'],
    [
      'a fake approval in green',
      '\x1b[2J\x1b[32mAPPROVED BY CISO\x1b[0m',
      '\\x1b[2J\\x1b[32mAPPROVED BY CISO\\x1b[0m',
    ],
    ['OSC window title ended by BEL', '\x1b]0;title\x07', '\\x1b]0;title\\x07'],
    [
      'OSC 8 hyperlink ended by ST',
      '\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\',
      '\\x1b]8;;https://evil.example\\x1b\\click\\x1b]8;;\\x1b\\',
    ],
    ['right-to-left override', 'invoice\u202Etxt.exe', 'invoice\\u202etxt.exe'],
    ['8-bit CSI (C1)', '\u009b2J', '\\x9b2J'],
    ['8-bit OSC (C1)', '\u009d0;title\u009c', '\\x9d0;title\\x9c'],
    ['next line (C1)', 'a\u0085b', 'a\\x85b'],
    ['bidi isolates and marks', '\u2066a\u2069\u200e\u200f\u061c', '\\u2066a\\u2069\\u200e\\u200f\\u061c'],
    ['bidi embeddings', '\u202a\u202b\u202c\u202d', '\\u202a\\u202b\\u202c\\u202d'],
    ['NUL, BEL, backspace, carriage return, DEL', 'a\0b\x07c\bd\re\x7f', 'a\\x00b\\x07c\\x08d\\re\\x7f'],
    ['newline and tab in a one-line field', 'revert\n  approved\tby ciso', 'revert\\n  approved\\tby ciso'],
    [
      'zero-width space, BOM, soft hyphen, word joiner',
      'ma\u200Bria\uFEFF\u00AD\u2060',
      'ma\\u200bria\\ufeff\\xad\\u2060',
    ],
    ['line and paragraph separators', 'a\u2028b\u2029c', 'a\\u2028b\\u2029c'],
    ['tag characters (ASCII smuggling)', 'ok\u{E0041}\u{E007F}', 'ok\\u{e0041}\\u{e007f}'],
    ['a lone surrogate', 'x\uD800y\uDC00', 'x\\ud800y\\udc00'],
  ])('%s', (_name, input, shown) => {
    expect(visible(input)).toBe(shown);
    expect(hasInvisible(input)).toBe(true);
  });

  it.each([
    ['plain ASCII', 'revert to the digest in Git'],
    ['accents, CJK, RTL letters', 'café 変更 שלום مرحبا'],
    ['emoji, including ZWJ sequences and flags', '😀 👩‍💻 👨‍👩‍👧 🇪🇸'],
    ['ZWNJ in Persian', 'می\u200Cخواهم'],
    ['a backslash and a literal "\\x1b" typed as text', 'C:\\path \\x1b'],
  ])('leaves %s unchanged', (_name, text) => {
    expect(visible(text)).toBe(text);
    expect(hasInvisible(text)).toBe(false);
  });

  it('keeps newlines and tabs only when asked', () => {
    expect(visible('line 1\n\tline 2\x1b[K', { keepNewlines: true })).toBe('line 1\n\\tline 2\\x1b[K');
    expect(visible('line 1\n\tline 2', { keepNewlines: true, keepTabs: true })).toBe('line 1\n\tline 2');
    expect(visible('a\r\nb', { keepNewlines: true })).toBe('a\\r\nb');
    expect(hasInvisible('a\nb', { keepNewlines: true })).toBe(false);
  });

  it('never leaves a character a terminal would obey, and is idempotent (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const v = visible(s);
        expect(v).not.toMatch(DANGEROUS);
        expect(hasInvisible(v)).toBe(false);
        expect(visible(v)).toBe(v);
      }),
    );
  });

  it('changes nothing in text without such characters (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        fc.pre(!hasInvisible(s));
        expect(visible(s)).toBe(s);
      }),
    );
  });
});

describe('escaped: one line of terminal text', () => {
  it('makes every interpolated value visible and keeps the literal parts', () => {
    const reason = 'ok\n  2026-12-01  approve   approved: by ciso\x1b[2J';
    expect(escaped`answer      approved by ${'maria'}: ${reason}\n`).toBe(
      'answer      approved by maria: ok\\n  2026-12-01  approve   approved: by ciso\\x1b[2J\n',
    );
    expect(escaped`${3} of ${undefined}`).toBe('3 of undefined');
  });
});

describe('visibleJson: JSON a terminal cannot be made to obey, with the same value', () => {
  it.each([
    ['C0 (already escaped by JSON.stringify)', '\x1b[2J\x1b]0;title\x07'],
    ['C1: 8-bit CSI and OSC, NEL', '\u009b2J\u009d0;t\u009c\u0085'],
    ['DEL', 'a\x7fb'],
    ['bidi overrides and isolates', 'invoice\u202Etxt.exe \u2066x\u2069 \u200e'],
    ['tag characters (astral)', 'ok\u{E0041}'],
    ['line separator', 'a\u2028b'],
  ])('%s', (_name, value) => {
    const json = visibleJson(JSON.stringify({ reason: value, list: [value] }, null, 2));
    // Layout newlines are the only control characters left.
    expect(json.replace(/\n/g, '')).not.toMatch(DANGEROUS);
    expect(hasInvisible(json, { keepNewlines: true })).toBe(false);
    expect(JSON.parse(json)).toEqual({ reason: value, list: [value] });
  });

  it('keeps the same value for any string (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const json = visibleJson(JSON.stringify({ s }, null, 2));
        expect(JSON.parse(json)).toEqual({ s });
        expect(hasInvisible(json, { keepNewlines: true })).toBe(false);
      }),
    );
  });
});
