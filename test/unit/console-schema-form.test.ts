import { describe, expect, it } from 'vitest';
import { locateSchemaError, parseJson } from '../../console/src/lib/json-locate.js';
import { formFields, fromFormValues, humanize, toFormValues } from '../../console/src/lib/schema-form.js';

/** The console's profile form, generated from a group's crudSchema (console/src/lib/schema-form.ts). */
const SCHEMA = {
  type: 'object',
  required: ['name', 'age'],
  properties: {
    username: { type: 'string' },
    email: { type: 'string', format: 'email' },
    name: { type: 'string', minLength: 2, maxLength: 40, title: 'Full name' },
    age: { type: 'integer', minimum: 0, maximum: 150 },
    score: { type: ['number', 'null'] },
    vip: { type: 'boolean', description: 'Gets the gold desk' },
    tier: { type: 'string', enum: ['gold', 'silver', null] },
    born: { type: 'string', format: 'date' },
    lastSeen: { type: 'string', format: 'date-time' },
    tags: { type: 'array', items: { type: 'string' } },
    lucky: { type: 'array', items: { type: 'integer' } },
    channels: { type: 'array', items: { enum: ['mail', 'sms'] } },
    address: { type: 'object', properties: { city: { type: 'string' } } },
    __proto__: { type: 'string' },
  },
};

describe('formFields', () => {
  const fields = formFields(JSON.parse(JSON.stringify(SCHEMA)));
  const byName = new Map(fields.map((field) => [field.name, field]));

  it('makes one field per group property, leaving out the fields the service manages', () => {
    expect(fields.map((field) => field.name)).toEqual([
      'name',
      'age',
      'score',
      'vip',
      'tier',
      'born',
      'lastSeen',
      'tags',
      'lucky',
      'channels',
      'address',
    ]);
  });

  it('maps types, formats, constraints, required and titles', () => {
    expect(byName.get('name')).toMatchObject({ kind: 'string', label: 'Full name', required: true, minLength: 2, maxLength: 40 });
    expect(byName.get('age')).toMatchObject({ kind: 'integer', label: 'Age', required: true, min: 0, max: 150 });
    expect(byName.get('score')).toMatchObject({ kind: 'number', required: false });
    expect(byName.get('vip')).toMatchObject({ kind: 'boolean', description: 'Gets the gold desk' });
    expect(byName.get('tier')).toMatchObject({ kind: 'enum', options: ['gold', 'silver'] });
    expect(byName.get('born')?.kind).toBe('date');
    expect(byName.get('lastSeen')).toMatchObject({ kind: 'date-time', label: 'Last seen' });
  });

  it('maps arrays by their items: text lines, numbers, or checkboxes for an enum; objects as JSON', () => {
    expect(byName.get('tags')).toMatchObject({ kind: 'array', items: 'string' });
    expect(byName.get('lucky')).toMatchObject({ kind: 'array', items: 'integer' });
    expect(byName.get('channels')).toMatchObject({ kind: 'array', items: 'enum', options: ['mail', 'sms'] });
    expect(byName.get('address')?.kind).toBe('json');
  });

  it('answers no field for a schema without properties, or no schema', () => {
    expect(formFields(undefined)).toEqual([]);
    expect(formFields({ type: 'object' })).toEqual([]);
    expect(formFields([])).toEqual([]);
  });
});

describe('form values', () => {
  const fields = formFields(SCHEMA);
  const stored = {
    name: 'Ada',
    age: 36,
    vip: true,
    tier: 'gold',
    lastSeen: '2026-01-02T03:04:00.000Z',
    tags: ['a', 'b'],
    lucky: [7, 13],
    channels: ['sms'],
    address: { city: 'Turin' },
  };

  it('reads a stored profile into the form and back unchanged', () => {
    const values = toFormValues(fields, stored);
    expect(values.get('tags')).toBe('a\nb');
    expect(values.get('lastSeen')).toBe('2026-01-02T03:04');
    expect(values.get('vip')).toBe(true);
    const parsed = fromFormValues(fields, values);
    expect(parsed.errors.size).toBe(0);
    expect({ ...parsed.properties }).toEqual({ ...stored, channels: ['sms'] });
    expect(parsed.cleared).toEqual(['score', 'born']);
  });

  it('reports required fields left empty and values of the wrong type, by field', () => {
    const values = toFormValues(fields, stored);
    values.set('name', '');
    values.set('age', '3.5');
    values.set('lucky', '7\nseven');
    values.set('address', '{city:');
    const { errors } = fromFormValues(fields, values);
    expect(Object.fromEntries(errors)).toEqual({
      name: 'is required',
      age: 'must be a whole number',
      lucky: 'must be a number',
      address: 'must be valid JSON',
    });
  });

  it('never writes a property that would reach the prototype', () => {
    const parsed = fromFormValues(formFields({ properties: { constructor: { type: 'string' } } }), new Map([['constructor', 'x']]));
    expect(Object.keys(parsed.properties)).toEqual([]);
  });
});

describe('humanize and JSON locations', () => {
  it('labels field names', () => {
    expect(humanize('firstName')).toBe('First name');
    expect(humanize('postal_code')).toBe('Postal code');
  });

  it('locates a JSON syntax error and a schema error in the text', () => {
    const text = '{\n  "type": "object",\n  "properties": {\n    "age": { "type": "integr" }\n  }\n}';
    const error = locateSchemaError(text, 'schema is invalid: data/properties/age/type must be equal to one of the allowed values');
    expect(error).toMatchObject({ line: 4, column: 14 });
    const broken = parseJson('{\n  "a": 1,\n}');
    expect('error' in broken && broken.error.line).toBe(3);
    // The engine's own place ("in JSON at position 12 (line 3 column 1)") is not said twice beside the console's.
    expect('error' in broken && broken.error.message).toBe('Expected double-quoted property name');
  });
});
