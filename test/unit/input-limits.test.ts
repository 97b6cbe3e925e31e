import { describe, expect, it } from 'vitest';
import { assertSafeInput, shownText } from '../../src/domain/input-limits.js';
import { InvalidInputError } from '../../src/errors.js';

/** `{a:{a:…{}}}` nested `depth` objects deep, built without recursion. */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let level = 1; level < depth; level++) value = { a: value };
  return value;
}

const refusal = (attempt: () => void) => {
  try {
    attempt();
  } catch (error) {
    return error;
  }
  return undefined;
};

describe('assertSafeInput (bodies, filters, GraphQL variables and JSON arguments)', () => {
  it('refuses a 60,000-deep object with a 400 naming where, instead of overflowing the stack', () => {
    const error = refusal(() => assertSafeInput({ filter: nested(60_000) }, { where: ['variables'], maxDepth: 32 }));
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error).toMatchObject({
      status: 400,
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/^variables\/filter\/a\/.*is nested more than 32 levels deep$/),
    });
  });

  it('counts arrays and objects alike, and accepts exactly the limit', () => {
    const check = (value: unknown, maxDepth: number) => () => assertSafeInput(value, { where: ['input'], maxDepth });
    expect(check(nested(3), 3)).not.toThrow();
    expect(check(nested(4), 3)).toThrow('input/a/a/a is nested more than 3 levels deep');
    expect(check([[[1]]], 3)).not.toThrow();
    expect(check([[[[1]]]], 3)).toThrow(InvalidInputError);
    expect(check({ a: [{ b: [] }] }, 3)).toThrow(InvalidInputError);
    expect(check('scalar', 0)).not.toThrow();
    expect(check({}, 0)).toThrow(InvalidInputError);
    expect(check(nested(64), 64)).not.toThrow();
    expect(() => assertSafeInput(nested(65), { where: ['body'] })).toThrow('is nested more than 64 levels deep');
  });

  it('refuses too many values when asked to', () => {
    const wide = { ids: Array.from({ length: 1000 }, (_, index) => index) };
    expect(() => assertSafeInput(wide, { where: ['body'], maxNodes: 1002 })).not.toThrow();
    expect(() => assertSafeInput(wide, { where: ['body'], maxNodes: 1001 })).toThrow('body holds more than 1001 values');
  });

  it('treats objects other than plain ones as single values', () => {
    expect(() => assertSafeInput({ at: new Date(), file: new Map([['a', nested(10)]]) }, { where: [], maxDepth: 1 })).not.toThrow();
  });

  it.each(['__proto__', 'constructor', 'prototype', 'a.__proto__', 'constructor.prototype.x'])(
    'refuses %s as a key, at any depth',
    (key) => {
      const hostile = JSON.parse(`{"ok":[{"deeper":{${JSON.stringify(key)}:1}}]}`) as unknown;
      expect(refusal(() => assertSafeInput(hostile, { where: ['body'] }))).toMatchObject({
        status: 400,
        message: `body/ok/0/deeper/${key} is not an allowed field name`,
      });
    },
  );

  it('lets other names through, those Object.prototype also has included', () => {
    expect(() => assertSafeInput({ toString: 1, valueOf: { hasOwnProperty: [1] }, 'a.b': 2, $gt: 3, '': 4 }, { where: [] })).not.toThrow();
  });
});

describe('shownText (every error message an answer gives)', () => {
  const LONG = 'x'.repeat(100_000);

  it('cuts each long name to 128 characters and `…`, keeping the words around it', () => {
    expect(shownText(`Unknown operator: $${LONG}`)).toBe(`Unknown operator: $${'x'.repeat(127)}…`);
    expect(shownText(`body/$set/${LONG}: must be number`)).toBe(`body/$set/${'x'.repeat(128)}…: must be number`);
    expect(new InvalidInputError(`body/${LONG} bad`, [{ path: ['body', LONG], message: `${LONG} bad` }])).toMatchObject({
      message: `body/${'x'.repeat(128)}… bad`,
      issues: [{ path: ['body', `${'x'.repeat(128)}…`], message: `${'x'.repeat(128)}… bad` }],
    });
  });

  it('cuts a name of many short words at 2,048 characters in all, and leaves a usual message and a cut one as they are', () => {
    const cut = shownText(`Unknown operator: $${'a '.repeat(50_000)}`);
    expect(cut.length).toBe(2_049);
    expect(shownText(cut)).toBe(cut);
    expect(shownText('user 0123456789abcdef01234567 not found')).toBe('user 0123456789abcdef01234567 not found');
  });
});
