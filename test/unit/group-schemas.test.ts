import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { GroupSchemas } from '../../src/infra/group-schemas.js';

const GROUP = {
  userGroup: 'tagged',
  label: 'Tagged',
  authUserCreationDisabled: true,
  crudSchema: { type: 'object', properties: { tags: { type: 'array', uniqueItems: true } } },
};

function refusal(tags: unknown[]): string {
  try {
    new GroupSchemas().validateUser(GROUP, { tags });
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}

describe('uniqueItems', () => {
  it('checks 150,000 items (a 1 MiB body) in linear time: ajv compared every pair, 11 s of event loop for 120,000', () => {
    const tags = Array.from({ length: 150_000 }, (_, index) => index);
    const started = performance.now();
    expect(refusal(tags)).toBe('');
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(refusal([...tags, 149_999])).toBe(
      'body/tags must NOT have duplicate items (items ## 149999 and 150000 are identical) (user group "tagged")',
    );
  });

  it('compares items as JSON Schema does: by value, object keys in any order', () => {
    expect(refusal([1, 2, 1])).toContain('items ## 0 and 2 are identical');
    expect(
      refusal([
        { a: 1, b: [1, { c: 2 }] },
        { b: [1, { c: 2 }], a: 1 },
      ]),
    ).toContain('items ## 0 and 1 are identical');
    expect(refusal([1, '1', true, 'true', null, 'null', [1], { 0: 1 }, [], {}, 1.5])).toBe('');
    expect(refusal([[1, 2], [2, 1], { a: { b: 1 } }, { a: { b: 2 } }])).toBe('');
  });

  it('keeps uniqueItems: false and arrays with no such keyword as they were', () => {
    const schemas = new GroupSchemas();
    const loose = { ...GROUP, crudSchema: { type: 'object', properties: { tags: { type: 'array', uniqueItems: false } } } };
    expect(() => schemas.validateUser(loose, { tags: [1, 1] })).not.toThrow();
    expect(() => schemas.validateUser(GROUP, { tags: 'x' })).toThrow('must be array');
  });
});

describe('$ref', () => {
  // ajv copied a referenced definition into each place that refers to it: 100 references to a
  // definition of 200 properties (a 10 KB schema) compiled 20,000 properties and held the event loop 5 s.
  it('compiles a definition once, however many places refer to it, and validates through each of them', () => {
    const definition = {
      type: 'object',
      properties: Object.fromEntries(Array.from({ length: 20 }, (_, index) => [`f${index}`, { type: 'string' }])),
    };
    const schema = (refs: number) => ({
      type: 'object',
      properties: Object.fromEntries(Array.from({ length: refs }, (_, index) => [`p${index}`, { $ref: '#/$defs/item' }])),
      $defs: { item: definition },
    });
    const one = new GroupSchemas().compile(schema(1)).toString().length;
    const validate = new GroupSchemas().compile(schema(20));
    // Each use is a call of the definition's function (a few hundred characters), not a copy of its code (6,000).
    expect(validate.toString().length).toBeLessThan(one + 20 * 500);
    expect(validate({ p0: { f0: 'a' }, p19: { f19: 'b' } })).toBe(true);
    expect(validate({ p19: { f3: 3 } })).toBe(false);
    expect(validate.errors?.[0]).toMatchObject({ instancePath: '/p19/f3', message: 'must be string' });
  });
});

describe('the compiled schemas kept', () => {
  // GroupSchemas keeps at most 1,000 compiled schemas, but the one ajv that compiled them kept each
  // schema and function in its code scope, which removeSchema() does not empty: a service whose
  // groups were saved again and again (each save compiles the schema sent) grew without bound,
  // about 54 MB per 1,000 saves of a 60-field schema.
  it('lets go of a schema once 1,000 others were compiled after it', async () => {
    setFlagsFromString('--expose_gc');
    const gc = runInNewContext('gc') as () => void;
    const schemas = new GroupSchemas();
    const weak = (() => {
      const first = { type: 'object', properties: { first: { type: 'string', pattern: '^first$' } } };
      expect(schemas.compile(first)({ first: 'first' })).toBe(true);
      return new WeakRef(first);
    })();
    for (let index = 0; index <= 1000; index += 1) schemas.compile({ type: 'object', properties: { [`f${index}`]: { type: 'string' } } });
    // A WeakRef keeps its target until the job that made it ends.
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    gc();
    expect(weak.deref()).toBeUndefined();
    // What is compiled after the renewal still validates with the formats, patterns and uniqueItems of the first.
    const later = schemas.compile({
      type: 'object',
      properties: {
        d: { type: 'string', format: 'date' },
        p: { type: 'string', pattern: '^a+$' },
        u: { type: 'array', uniqueItems: true },
      },
    });
    expect(later({ d: '2000-01-02T00:00:00.000Z', p: 'aa', u: [1, 2] })).toBe(true);
    expect(later({ d: 'never', p: 'b', u: [1, 1] })).toBe(false);
    expect(later.errors?.map((error) => error.keyword)).toEqual(['format', 'pattern', 'uniqueItems']);
  });
});
