import { assertSafeInput } from './input-limits.js';
import { isSafeFieldPath, ownValue } from './safe-names.js';

/**
 * A CSV record (all text) turned into a user document, guided by the group's JSON Schema: the
 * declared type of a property says whether "42" is a number, "true" a boolean, "[a, b]" an array.
 */

/** Standard fields that are not strings, whether or not the group's schema declares them. */
const STANDARD_TYPES = new Map([
  ['blocked', 'boolean'],
  ['roles', 'array'],
]);

export type CellSchema = { type?: unknown; properties?: Record<string, CellSchema>; items?: CellSchema };

/**
 * Empty cells are left out (they neither set nor clear a field). A value in square brackets is an
 * array of its comma-separated items, unquoted, as the original documents (`[item1, item2]`).
 */
export function recordToDoc(record: Record<string, string>, schema: CellSchema): Record<string, unknown> {
  const doc: Record<string, unknown> = {};
  for (const field of Object.keys(record)) {
    const raw = record[field]!;
    if (raw === '' || field === '') continue;
    const declared = schema.properties && ownValue(schema.properties, field);
    doc[field] = convert(restoreFormula(raw), typeOf(declared) ?? STANDARD_TYPES.get(field), declared?.items);
  }
  return doc;
}

/**
 * Spreadsheets run a cell that starts with one of these as a formula (OWASP's "CSV injection"),
 * some also after leading white space (LibreOffice trims it on import when asked, Google Sheets
 * does) or with the full-width signs (＝＋－＠, which East Asian locales convert), and a line feed
 * starts one as a carriage return does. Where the list separator is `;` (Italy, Germany, France…)
 * Excel opens a .csv split on `;`, so a cell also starts after each `;` of the text (`Rossi;=1+1`
 * would give a cell `=1+1`). An export writes a `'` at each such start, and also where quotes
 * already precede one of them (`'=x` becomes `''=x`): the import takes exactly one quote off at
 * each start of that shape, so every text reads back as it was written.
 */
const FORMULA_START = /(^|;)('*(?:[\t\r\n]|\s*[=+\-@\uff1d\uff0b\uff0d\uff20]))/gu;
const NEUTRALIZED_START = /(^|;)'('*(?:[\t\r\n]|\s*[=+\-@\uff1d\uff0b\uff0d\uff20]))/gu;

export function neutralizeFormula(cell: string): string {
  return cell.replace(FORMULA_START, "$1'$2");
}

export function restoreFormula(cell: string): string {
  return cell.replace(NEUTRALIZED_START, '$1$2');
}

/** Whether some spreadsheet would start a formula in this text (a header cell must not). */
function holdsFormula(text: string): boolean {
  return neutralizeFormula(text) !== text;
}

/**
 * The cell of a CSV export for `value`, such that the import (recordToDoc, with the same group
 * schema) reads back the same value: a number or boolean where the schema declares one, an array
 * as `[a, b]`, an object as JSON where the schema declares an object. A value no text reads back
 * as (null, a number in an undeclared field, an array of objects, a string such as "[a]") gets an
 * empty cell, which the import reads as "leave the field as it is".
 */
export function valueToCell(field: string, value: unknown, schema: CellSchema): string {
  const text = candidateText(value);
  if (text === undefined || text === '' || LONE_SURROGATE.test(text)) return '';
  const declared = schema.properties && ownValue(schema.properties, field);
  let back: unknown;
  try {
    back = convert(text, typeOf(declared) ?? STANDARD_TYPES.get(field), declared?.items);
  } catch {
    return '';
  }
  return sameValue(back, value) ? neutralizeFormula(text) : '';
}

/** A lone surrogate is no UTF-8: the file would read back U+FFFD. */
const LONE_SURROGATE = /\p{Cs}/u;

function candidateText(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
      return Number.isFinite(value) ? String(value) : undefined;
    case 'boolean':
      return String(value);
    case 'object':
      if (value === null) return undefined;
      if (!Array.isArray(value)) return JSON.stringify(value);
      return value.every((item) => ['string', 'number', 'boolean'].includes(typeof item)) ? `[${value.join(', ')}]` : undefined;
    default:
      return undefined;
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === 'object' && typeof b === 'object' && JSON.stringify(a) === JSON.stringify(b));
}

/**
 * A header cell the import reads back as the same field name: not empty, no dotted path (the
 * import would write a nested field), nothing a spreadsheet would run or trim.
 */
export function isCsvColumnName(name: string): boolean {
  return (
    name !== '' && !name.includes('.') && isSafeFieldPath(name) && !holdsFormula(name) && !name.startsWith("'") && name.trim() === name
  );
}

/** Cells that need quotes: the delimiter, a quote, a line break, or spaces the import would trim. */
const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

/** One CSV line (RFC 4180: `,`, quotes doubled, CRLF), as the import reads it with its defaults. */
export function csvLine(cells: readonly string[]): string {
  let line = '';
  for (let index = 0; index < cells.length; index += 1) {
    const cell = cells[index]!;
    if (index > 0) line += ',';
    line += NEEDS_QUOTES.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell;
  }
  return `${line}\r\n`;
}

function convert(raw: string, type: string | undefined, items: CellSchema | undefined): unknown {
  if (raw.startsWith('[') && raw.endsWith(']')) {
    const inner = raw.slice(1, -1).trim();
    return inner === '' ? [] : inner.split(',').map((item) => convert(item.trim(), typeOf(items), undefined));
  }
  switch (type) {
    case 'number':
    case 'integer': {
      const number = Number(raw);
      return raw.trim() !== '' && Number.isFinite(number) ? number : raw;
    }
    case 'boolean':
      return /^true$/i.test(raw) ? true : /^false$/i.test(raw) ? false : raw;
    case 'object': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        return raw;
      }
      // A cell is client JSON like any body: no `__proto__`/`constructor` keys, no hostile depth.
      assertSafeInput(parsed, { where: ['body', 'file', 'cell'] });
      return parsed;
    }
    default:
      return raw;
  }
}

/** The first non-null type of a property (`["string", "null"]` is a string). */
function typeOf(schema: CellSchema | undefined): string | undefined {
  const type = schema?.type;
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) return type.find((item): item is string => typeof item === 'string' && item !== 'null');
  return undefined;
}
