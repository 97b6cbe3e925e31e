import { assertSafeInput } from './input-limits.js';
import { ownValue } from './safe-names.js';

/**
 * A CSV record (all text) turned into a user document, guided by the group's JSON Schema: the
 * declared type of a property says whether "42" is a number, "true" a boolean, "[a, b]" an array.
 */

/** Standard fields that are not strings, whether or not the group's schema declares them. */
const STANDARD_TYPES = new Map([
  ['blocked', 'boolean'],
  ['roles', 'array'],
]);

type Schema = { type?: unknown; properties?: Record<string, Schema>; items?: Schema };

/**
 * Empty cells are left out (they neither set nor clear a field). A value in square brackets is an
 * array of its comma-separated items, unquoted, as the original documents (`[item1, item2]`).
 */
export function recordToDoc(record: Record<string, string>, schema: Schema): Record<string, unknown> {
  const doc: Record<string, unknown> = {};
  for (const [field, raw] of Object.entries(record)) {
    if (raw === '' || field === '') continue;
    const declared = schema.properties && ownValue(schema.properties, field);
    doc[field] = convert(raw, typeOf(declared) ?? STANDARD_TYPES.get(field), declared?.items);
  }
  return doc;
}

function convert(raw: string, type: string | undefined, items: Schema | undefined): unknown {
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
function typeOf(schema: Schema | undefined): string | undefined {
  const type = schema?.type;
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) return type.find((item): item is string => typeof item === 'string' && item !== 'null');
  return undefined;
}
