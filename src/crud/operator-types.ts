import { InvalidInputError } from '../errors.js';
import { fieldAt, type FieldIndex, type FieldType } from './field-types.js';
import { type Filter, isPlainObject } from './filter.js';

/**
 * The CRUD's query parser (lib/QueryParser.js `traverse`) takes an operator only on the types its
 * cast function lists (`supportedTypes`): `$gt`, `$ne` or `$regex` on an array, `$size` on a string,
 * any comparison on an object are its 400 `Unsupported operator: $op for <Type> field`. A plain key
 * inside a condition (`{"name":{"note":"x"}}`) passes only on an array or an object field.
 */
const SCALAR_ONLY = new Set(['$gt', '$lt', '$gte', '$lte', '$ne', '$regex', '$options']);
const SCALAR_OR_ARRAY = new Set(['$eq', '$in', '$nin', '$all']);
const ARRAY_ONLY = new Set(['$elemMatch', '$size']);

/** The CRUD's name of a type in its message (QueryParser.utils getFieldDefinition). */
const CRUD_TYPE_NAMES: Partial<Record<FieldType, string>> = {
  string: 'string',
  number: 'number',
  integer: 'integer',
  boolean: 'boolean',
  date: 'Date',
  array: 'Array',
  object: 'RawObject',
};

/** Checks every condition of a filter on a field of known type, through `$and` and `$or`, as the CRUD does. */
export function assertOperatorTypes(filter: Filter, index: FieldIndex): void {
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' || key === '$or') {
      if (Array.isArray(value)) value.filter(isPlainObject).forEach((inner) => assertOperatorTypes(inner, index));
    } else if (!key.startsWith('$') && isPlainObject(value)) {
      assertCondition(value, typeAt(index, key));
    }
  }
}

/** The type the CRUD reads for a query path: its array indexes removed (`tagIds.0` is `tagIds`). */
function typeAt(index: FieldIndex, path: string): FieldType | undefined {
  // A plain name (most conditions) is one Map lookup: no split, regex nor join on every query.
  const dotted = path.includes('.');
  const definition = dotted ? withoutIndexes(path) : INDEX_SEGMENT.test(path) ? '' : path;
  const type = definition === '' ? undefined : (dotted ? fieldAt(index, definition) : index.get(definition))?.type;
  return type === 'any' ? undefined : type;
}

const INDEX_SEGMENT = /^\d+$/;

function withoutIndexes(path: string): string {
  return path
    .split('.')
    .filter((segment) => !INDEX_SEGMENT.test(segment))
    .join('.');
}

function assertCondition(condition: Record<string, unknown>, type: FieldType | undefined): void {
  if (type === undefined) return;
  const name = CRUD_TYPE_NAMES[type] ?? type;
  const complex = type === 'array' || type === 'object';
  for (const operator of Object.keys(condition)) {
    if (!operator.startsWith('$')) {
      if (!complex) throw unsupported(`Unsupported operator: ${operator}`);
      continue;
    }
    // `$exists` takes any type; other operators (`$nearSphere`, `$text`) have checks of their own.
    const refused =
      (SCALAR_ONLY.has(operator) && complex) ||
      (SCALAR_OR_ARRAY.has(operator) && type === 'object') ||
      (ARRAY_ONLY.has(operator) && type !== 'array');
    if (refused) throw unsupported(`Unsupported operator: ${operator} for ${name} field`);
  }
}

function unsupported(message: string): InvalidInputError {
  return new InvalidInputError(message, [{ path: ['querystring', '_q'], message }]);
}
