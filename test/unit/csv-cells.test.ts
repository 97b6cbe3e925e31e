import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CellSchema, csvLine, neutralizeFormula, recordToDoc, restoreFormula, valueToCell } from '../../src/domain/csv-cells.js';

/** The import's parser options (resolvers/import-users.ts) with its defaults: `,`, `"`, utf8. */
const IMPORT_OPTIONS = { bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, columns: true } as const;

const SCHEMA: CellSchema = {
  properties: {
    text: { type: 'string' },
    count: { type: 'integer' },
    ratio: { type: ['number', 'null'] },
    flag: { type: 'boolean' },
    list: { type: 'array', items: { type: 'string' } },
    numbers: { type: 'array', items: { type: 'number' } },
    extra: { type: 'object' },
  },
};

/** Writes one row the way the export does, then reads it back the way the import does. */
function roundTrip(field: string, value: unknown): { cell: string; back: Record<string, unknown> } {
  const cell = valueToCell(field, value, SCHEMA);
  const file = Buffer.from(csvLine(['_id', field]) + csvLine(['u1', cell]), 'utf8');
  const [record] = parse(file, IMPORT_OPTIONS) as Record<string, string>[];
  return { cell, back: recordToDoc(record!, SCHEMA) };
}

/** A formula start: at the cell's start or after a ";" (where Excel splits on it), after white space, full-width signs too. */
const TRIGGER = /(^|;)(?:[\t\r\n]|\s*[=+\-@\uff1d\uff0b\uff0d\uff20])/u;

describe('formula neutralization', () => {
  it('never leaves a cell that starts a formula, and the import takes back exactly what it added', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('=', '+', '-', '@', '\t', '\r', '\n', "'", 'a', ' ', '\u00a0', '"', ',', ';', '\uff1d') }),
        (text) => {
          expect(TRIGGER.test(neutralizeFormula(text))).toBe(false);
          expect(restoreFormula(neutralizeFormula(text))).toBe(text);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('prefixes one quote, also before quotes that already precede a formula', () => {
    expect(neutralizeFormula('=SUM(A1:A9)')).toBe("'=SUM(A1:A9)");
    expect(neutralizeFormula("'=x")).toBe("''=x");
    expect(neutralizeFormula("'plain")).toBe("'plain");
    expect(neutralizeFormula('-5')).toBe("'-5");
    expect(restoreFormula("'plain")).toBe("'plain");
    expect(neutralizeFormula("Rossi; =1+1;x;'@y")).toBe("Rossi;' =1+1;x;''@y");
    expect(neutralizeFormula(' \uff1d1')).toBe("' \uff1d1");
  });
});

describe('export cells read back by the import', () => {
  const values = fc.oneof(
    fc.record({ field: fc.constant('text'), value: fc.string() }),
    fc.record({
      field: fc.constant('text'),
      value: fc.string({ unit: fc.constantFrom('=', '-', "'", '[', ']', ',', ' ', '\n', '"', 'a') }),
    }),
    fc.record({ field: fc.constant('count'), value: fc.integer() }),
    fc.record({ field: fc.constant('ratio'), value: fc.oneof(fc.double({ noNaN: true }), fc.constant(null)) }),
    fc.record({ field: fc.constant('flag'), value: fc.oneof(fc.boolean(), fc.string()) }),
    fc.record({ field: fc.constant('list'), value: fc.array(fc.string()) }),
    fc.record({ field: fc.constant('numbers'), value: fc.array(fc.double({ noNaN: true, noDefaultInfinity: true })) }),
    fc.record({ field: fc.constant('extra'), value: fc.jsonValue() }),
    fc.record({ field: fc.constant('undeclared'), value: fc.jsonValue() }),
  );

  it('come back as the same value, or are empty (which the import reads as "leave it as it is")', () => {
    fc.assert(
      fc.property(values, ({ field, value }) => {
        const { cell, back } = roundTrip(field, value);
        expect(TRIGGER.test(cell)).toBe(false);
        if (cell === '') expect(Object.hasOwn(back, field)).toBe(false);
        else expect(back[field]).toStrictEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 3000 },
    );
  });

  it('write each type in the import conventions', () => {
    expect(roundTrip('count', -12).cell).toBe("'-12");
    expect(roundTrip('flag', true).cell).toBe('true');
    expect(roundTrip('list', ['a', 'b c']).cell).toBe('[a, b c]');
    expect(roundTrip('extra', { a: [1, 'x'] }).cell).toBe('{"a":[1,"x"]}');
    expect(roundTrip('text', ' padded ').back.text).toBe(' padded ');
    // What the import would read otherwise: an array, a string, a number.
    expect(roundTrip('text', '[a]').cell).toBe('');
    expect(roundTrip('undeclared', 42).cell).toBe('');
    expect(roundTrip('text', '007').cell).toBe('007');
    expect(roundTrip('count', '7').cell).toBe('');
    expect(roundTrip('list', ['a, b']).cell).toBe('');
  });
});
