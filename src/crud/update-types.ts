import { isCanonicalDate } from './dates.js';
import { InvalidInputError } from '../errors.js';
import { coerceValue, refuse } from './cast.js';
import { fieldAt, type FieldIndex, type FieldSchema } from './field-types.js';
import { isPlainObject } from './filter.js';

/** A PATCH body's operators, each a map of (dotted) field → operand. */
export type UpdateOperators = Partial<Record<string, Record<string, unknown>>>;

const ARRAY_OPERATORS = new Set(['$push', '$addToSet', '$pull']);
const NUMBER_OPERATORS = new Set(['$inc', '$mul']);

/**
 * A PATCH body with its values coerced by the fields' types, as the CRUD's PATCH schema coerces
 * them: `$set` values to the field, `$push`/`$addToSet` items to the array's items, `$inc`/`$mul`
 * operands to numbers, `$unset`/`$currentDate` operands to `true`. An operator on a field of the
 * wrong type (`$push` on a string, `$inc` on a date, `$currentDate` on a number) is a 400, as the CRUD refuses it.
 */
export function coerceUpdate(expr: UpdateOperators, index: FieldIndex): UpdateOperators {
  const out: UpdateOperators = {};
  for (const [operator, fields] of Object.entries(expr)) {
    if (!fields) continue;
    const coerced: Record<string, unknown> = {};
    for (const [path, operand] of Object.entries(fields)) {
      coerced[path] = coerceOperand(operator, operand, fieldAt(index, path), ['body', operator, path]);
    }
    out[operator] = coerced;
  }
  return out;
}

function coerceOperand(operator: string, operand: unknown, schema: FieldSchema | undefined, where: string[]): unknown {
  const type = schema?.type;
  const known = type !== undefined && type !== 'any';
  if (ARRAY_OPERATORS.has(operator) && known && type !== 'array') throw refuse(where, `${operator} needs an array field`);
  if (NUMBER_OPERATORS.has(operator)) {
    if (known && type !== 'number' && type !== 'integer') throw refuse(where, `${operator} needs a number field`);
    return coerceValue(operand, { type: 'number' }, where);
  }
  if (operator === '$currentDate' && known && type !== 'date') throw refuse(where, '$currentDate needs a date field');
  if ((operator === '$unset' || operator === '$currentDate') && known) return onlyTrue(operand, where);
  if (operator === '$set') return coerceValue(operand, schema, where);
  if (operator === '$push' || operator === '$addToSet') return coerceItems(operand, schema?.items, where);
  return operand;
}

/**
 * The CRUD's PATCH schema gives each declared field of `$unset` and `$currentDate` `{type: "boolean",
 * enum: [true]}`, read with ajv's coercion (`"true"` and 1 are true; `"false"`, 0 and null false).
 */
function onlyTrue(operand: unknown, where: string[]): true {
  if (operand === true || operand === 'true' || operand === 1) return true;
  if (operand === false || operand === 'false' || operand === 0 || operand === null)
    throw refuse(where, 'must be equal to one of the allowed values');
  throw refuse(where, 'must be boolean');
}

/** `$push: {tags: "x"}` or `$push: {tags: {$each: [...]}}`: each item coerced to the array's items. */
function coerceItems(operand: unknown, items: FieldSchema | undefined, where: string[]): unknown {
  if (isPlainObject(operand) && Object.hasOwn(operand, '$each')) {
    const each = operand.$each;
    if (!Array.isArray(each)) throw refuse([...where, '$each'], 'must be array');
    return { ...operand, $each: each.map((item, position) => coerceValue(item, items, [...where, '$each', String(position)])) };
  }
  return coerceValue(operand, items, where);
}

/**
 * The checks MongoDB makes on the document itself, for fields no schema types: `$push`,
 * `$addToSet` and `$pull` need an array (or no value), `$inc` and `$mul` a number, `$currentDate`
 * a date. Without them the update would answer 200 and change nothing.
 */
export function assertUpdateFits(doc: Record<string, unknown>, expr: UpdateOperators): void {
  for (const [operator, fields] of Object.entries(expr)) {
    for (const path of Object.keys(fields ?? {})) {
      if (operator !== '$unset' && operator !== '$pull') assertPathOpen(doc, path, ['body', operator, path]);
      const current = valueAt(doc, path);
      if (current === undefined || current === null) continue;
      const where = ['body', operator, path];
      if (ARRAY_OPERATORS.has(operator) && !Array.isArray(current)) throw refuse(where, `${operator} needs an array field`);
      if (NUMBER_OPERATORS.has(operator) && typeof current !== 'number') throw refuse(where, `${operator} needs a number field`);
      if (operator === '$currentDate' && !isCanonicalDate(current)) throw refuse(where, '$currentDate needs a date field');
    }
  }
}

/**
 * MongoDB refuses to write below a value that holds no fields (`name.x` when `name` is a string,
 * `tags.x` when `tags` is an array); the embedded updater answered 200 and wrote nothing.
 */
function assertPathOpen(doc: Record<string, unknown>, path: string, where: string[]): void {
  const segments = path.split('.');
  let current: unknown = doc;
  for (const [position, segment] of segments.entries()) {
    if (current === undefined) return;
    const opens = isPlainObject(current) || (Array.isArray(current) && /^\d+$/.test(segment));
    if (!opens) throw refuse(where, `cannot create field '${segment}' in ${segments.slice(0, position).join('.')}, which holds no fields`);
    current = valueAt(current, segment);
  }
}

/** The value at a dotted path (array indexes included), through own properties only. */
export function valueAt(doc: unknown, path: string): unknown {
  let current: unknown = doc;
  for (const segment of path.split('.')) {
    if (Array.isArray(current) && /^\d+$/.test(segment)) current = current[Number(segment)];
    else if (isPlainObject(current) && Object.hasOwn(current, segment)) current = current[segment];
    else return undefined;
  }
  return current;
}

/**
 * The `acl_write_columns` header (comma-separated), as the CRUD reads it (httpInterface
 * getEditableFields, QueryParser traverseCommands): a top-level field it does not list cannot be
 * updated; array fields, nested paths, `$unset` and `$currentDate` are not judged, and an absent
 * or empty header lists every field. The CRUD answers its refusal with a 500; here it is a 400.
 */
export function assertWritableColumns(expr: UpdateOperators, header: string | undefined, index: FieldIndex): void {
  if (!header) return;
  const writable = new Set(header.split(','));
  for (const [operator, fields] of Object.entries(expr)) {
    if (operator === '$unset' || operator === '$currentDate') continue;
    for (const path of Object.keys(fields ?? {})) {
      if (path.includes('.') || writable.has(path) || fieldAt(index, path)?.type === 'array') continue;
      throw new InvalidInputError(`You cannot edit "${path}" field`, [{ path: ['headers', 'acl_write_columns'], message: 'not writable' }]);
    }
  }
}
