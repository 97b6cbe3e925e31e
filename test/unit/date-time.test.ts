import { DateTimeResolver } from 'graphql-scalars';
import { describe, expect, it } from 'vitest';
import { DateTimeScalar, isCanonicalDateTime } from '../../src/schema/scalars.js';

/** What a client receives: the serialized value through JSON, or the error's message. */
function answer(serialize: (value: unknown) => unknown, value: unknown): string {
  try {
    return JSON.stringify(serialize(value));
  } catch (error) {
    return `error: ${(error as Error).message}`;
  }
}

describe('DateTime scalar', () => {
  it('answers canonical dates as they are, like graphql-scalars', () => {
    for (let index = 0; index < 500; index += 1) {
      const text = new Date(Math.floor(Math.random() * 8e12) - 2e12).toISOString();
      expect(isCanonicalDateTime(text)).toBe(true);
      expect(answer(DateTimeScalar.serialize, text)).toBe(JSON.stringify(text));
    }
  });

  it('answers every other value exactly as graphql-scalars does, errors included', () => {
    const values: unknown[] = [
      '2024-02-29T00:00:00.000Z',
      '2023-02-29T00:00:00.000Z',
      '2026-02-30T00:00:00.000Z',
      '2026-04-31T10:00:00.000Z',
      '2026-00-10T00:00:00.000Z',
      '2026-13-10T00:00:00.000Z',
      '2026-01-00T00:00:00.000Z',
      '2026-01-01T24:00:00.000Z',
      '2026-01-01T10:60:00.000Z',
      '2026-12-31T23:59:60.000Z',
      '2026-01-01T10:00:00Z',
      '2026-01-01T10:00:00.5Z',
      '2026-01-01T12:00:00.000+02:00',
      '2026-01-01',
      'yesterday',
      '',
      new Date('2026-05-06T07:08:09.010Z'),
      1_767_225_600_000,
      true,
      null,
    ];
    for (const value of values) {
      expect([value, answer(DateTimeScalar.serialize, value)]).toEqual([value, answer(DateTimeResolver.serialize, value)]);
    }
    expect(isCanonicalDateTime('2026-02-30T00:00:00.000Z')).toBe(false);
    expect(isCanonicalDateTime('2026-01-01T24:00:00.000Z')).toBe(false);
  });
});
