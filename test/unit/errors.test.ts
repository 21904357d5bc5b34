import { describe, expect, it } from 'vitest';
import { formatLocation, InputError } from '../../domain/errors';

describe('InputError', () => {
  it.each([
    [{ file: 'a.yaml', line: 3, column: 5, field: '/spec/owner' }, 'a.yaml:3:5 field /spec/owner'],
    [{ file: 'a.yaml', field: '/spec' }, 'a.yaml field /spec'],
    [{}, ''],
  ])('formats %j as %j', (loc, expected) => {
    expect(formatLocation(loc)).toBe(expected);
  });

  it('puts the location in front of the message', () => {
    expect(new InputError('expected a string', { file: 'u.yaml', line: 2, field: '/spec/owner' }).message).toBe(
      'u.yaml:2 field /spec/owner: expected a string',
    );
  });
});
