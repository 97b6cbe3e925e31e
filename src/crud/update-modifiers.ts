import { refuse } from './cast.js';
import { isPlainObject } from './filter.js';

/** What MongoDB takes beside `$each`: `$push` sorts, places and cuts; `$addToSet` takes `$each` alone. */
const MODIFIERS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['$push', new Set(['$each', '$slice', '$sort', '$position'])],
  ['$addToSet', new Set(['$each'])],
]);

/**
 * The modifiers of a `$push` or `$addToSet` operand, as MongoDB checks them: it fails the update
 * otherwise ("Unrecognized clause in $push", "The $sort element value must be either 1 or -1"),
 * which the CRUD answers 500, while the embedded updater applied what it understood and answered
 * 200. A `$`-name in an operand without `$each` is a modifier out of place, not a field to store.
 */
export function assertArrayModifiers(operator: string, operand: unknown, where: string[]): void {
  const allowed = MODIFIERS.get(operator);
  if (!allowed || !isPlainObject(operand)) return;
  const names = Object.keys(operand);
  if (!Object.hasOwn(operand, '$each')) {
    const stray = names.find((name) => name.startsWith('$'));
    if (stray !== undefined) throw refuse(where, `${stray} needs $each beside it`);
    return;
  }
  const unknown = names.find((name) => !allowed.has(name));
  if (unknown !== undefined) throw refuse(where, `${unknown} is not a modifier of ${operator} (${[...allowed].join(', ')})`);
  for (const name of ['$slice', '$position']) {
    if (Object.hasOwn(operand, name) && !Number.isInteger(operand[name])) throw refuse([...where, name], 'must be a whole number');
  }
  if (Object.hasOwn(operand, '$sort')) assertSort(operand.$sort, [...where, '$sort']);
}

/** `1`, `-1`, or a non-empty object of item field paths, each `1` or `-1`. */
function assertSort(sort: unknown, where: string[]): void {
  const direction = (value: unknown) => value === 1 || value === -1;
  if (direction(sort)) return;
  if (!isPlainObject(sort) || Object.keys(sort).length === 0) throw refuse(where, 'must be 1, -1 or an object of fields, each 1 or -1');
  for (const [path, value] of Object.entries(sort)) {
    if (path.split('.').some((segment) => segment === '' || segment.startsWith('$'))) {
      throw refuse(where, `${JSON.stringify(path)} is not a field path`);
    }
    if (!direction(value)) throw refuse([...where, path], 'must be 1 or -1');
  }
}
