import { describe, expect, it } from 'vitest';
import { assertMaxDepth } from '../../../src/domain/input-limits.js';
import { InvalidInputError } from '../../../src/errors.js';

/** `{a:{a:…{}}}` nested `depth` objects deep, built without recursion. */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let level = 1; level < depth; level++) value = { a: value };
  return value;
}

describe('assertMaxDepth (GraphQL variables, REST bodies)', () => {
  it('refuses a 60,000-deep object with a 400 instead of overflowing the stack', () => {
    const attempt = () => assertMaxDepth({ filter: nested(60_000) }, 32, { name: 'variables' });
    expect(attempt).toThrow(InvalidInputError);
    expect(attempt).toThrow('variables is nested more than 32 levels deep');
    try {
      attempt();
    } catch (error) {
      expect(error).toMatchObject({ status: 400, code: 'INVALID_INPUT', issues: [{ path: ['variables'] }] });
    }
  });

  it('counts arrays and objects alike, and accepts exactly the limit', () => {
    expect(() => assertMaxDepth(nested(3), 3)).not.toThrow();
    expect(() => assertMaxDepth(nested(4), 3)).toThrow('input is nested more than 3 levels deep');
    expect(() => assertMaxDepth([[[1]]], 3)).not.toThrow();
    expect(() => assertMaxDepth([[[[1]]]], 3)).toThrow(InvalidInputError);
    expect(() => assertMaxDepth({ a: [{ b: [] }] }, 3)).toThrow(InvalidInputError);
    expect(() => assertMaxDepth('scalar', 0)).not.toThrow();
    expect(() => assertMaxDepth({}, 0)).toThrow(InvalidInputError);
  });

  it('refuses too many values when asked to', () => {
    const wide = { ids: Array.from({ length: 1000 }, (_, index) => index) };
    expect(() => assertMaxDepth(wide, 5, { maxNodes: 1002 })).not.toThrow();
    expect(() => assertMaxDepth(wide, 5, { maxNodes: 1001, name: 'body' })).toThrow('body holds more than 1001 values');
  });

  it('treats objects other than plain ones as single values', () => {
    expect(() => assertMaxDepth({ at: new Date(), file: new Map([['a', nested(10)]]) }, 1)).not.toThrow();
  });
});
