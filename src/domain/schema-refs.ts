import { InvalidInputError } from '../errors.js';

/*
 * A group schema whose `$ref` comes back to where it started through keywords that judge the same
 * value (allOf, anyOf, oneOf, not, if, then, else, dependentSchemas, dependencies) never ends: ajv
 * compiles it (a `$ref` is compiled once, lazily), then recurses without end on the first value it
 * validates there, and runs out of stack: a 500 for every creation, update or import row of the
 * group that holds the field. A recursion that goes into a property or an item first ends with
 * the data (a tree), and is kept.
 *
 * Only references to this schema are followed (`#`, `#/json/pointer`, or the root `$id` before
 * them), so nothing else may name a place: an `$anchor`, `$dynamicAnchor` or `$recursiveAnchor`,
 * an `$id` below the root (it also moves what `#` means beneath it) and a `$ref` that is none of
 * those forms (ajv resolved a relative one against the root's `$id`) are refused with a 400 naming
 * where (assertFollowableRefs): a loop through one of them was saved, then a 500 on every write.
 */

/** Keywords whose subschemas judge the same value as the schema holding them. */
const IN_PLACE_ONE = ['not', 'if', 'then', 'else'];
const IN_PLACE_LIST = ['allOf', 'anyOf', 'oneOf'];
const IN_PLACE_MAP = ['dependentSchemas', 'dependencies'];
/** Keywords whose subschemas judge a part of the value (a property, an item): no loop through them. */
const DESCENT_ONE = [
  'additionalProperties',
  'items',
  'additionalItems',
  'contains',
  'propertyNames',
  'unevaluatedProperties',
  'unevaluatedItems',
];
const DESCENT_LIST = ['items', 'prefixItems'];
const DESCENT_MAP = ['properties', 'patternProperties', 'definitions', '$defs'];

type Schema = Record<string, unknown>;
interface Child {
  node: Schema;
  path: string[];
}

/** Keywords whose keys are names (of properties, definitions), not keywords; their values are schemas. */
const NAME_MAPS: ReadonlySet<string> = new Set([
  'properties',
  'patternProperties',
  'definitions',
  '$defs',
  'dependencies',
  'dependentSchemas',
]);
/** Keywords whose values are data: an `$id` key there is a value's, not a schema's. */
const DATA: ReadonlySet<string> = new Set(['enum', 'const', 'default', 'examples']);
const ANCHORS = ['$anchor', '$dynamicAnchor', '$recursiveAnchor'];

/**
 * Throws a 400 at the first (shallowest) place that names a place other than by the forms the
 * loop check follows. Every object of the schema is looked at, unknown keywords' included (a JSON
 * pointer may lead a `$ref` into one), data and names excepted.
 */
export function assertFollowableRefs(root: Schema, where: readonly string[]): void {
  const pending: { value: unknown; path: string[] }[] = [{ value: root, path: [] }];
  for (let index = 0; index < pending.length; index += 1) {
    const { value, path } = pending[index]!;
    if (Array.isArray(value)) {
      value.forEach((item, position) => pending.push({ value: item, path: [...path, String(position)] }));
      continue;
    }
    if (!isSchema(value)) continue;
    for (const key of ANCHORS) {
      if (Object.hasOwn(value, key))
        refuse([...where, ...path, key], 'is not supported in a group schema: a $ref names a place by a JSON pointer (#/…)');
    }
    if (Object.hasOwn(value, '$id') && value !== root) refuse([...where, ...path, '$id'], 'is allowed only at the root of a group schema');
    if (Object.hasOwn(value, '$ref') && (typeof value.$ref !== 'string' || !resolve(root, value.$ref))) {
      refuse(
        [...where, ...path, '$ref'],
        "must point into this schema: #, #/… (a JSON pointer to a subschema), or the root's $id before them",
      );
    }
    for (const key of Object.keys(value)) {
      const child = value[key];
      if (DATA.has(key)) continue;
      if (NAME_MAPS.has(key) && isSchema(child)) {
        for (const name of Object.keys(child)) pending.push({ value: child[name], path: [...path, key, name] });
      } else pending.push({ value: child, path: [...path, key] });
    }
  }
}

function refuse(path: string[], problem: string): never {
  throw new InvalidInputError(`${path.join('/')} ${problem}`, [{ path, message: problem }]);
}

export function assertNoEndlessRef(root: Schema, where: readonly string[]): void {
  const state = new Map<Schema, 'active' | 'done'>();
  const visit = (node: Schema, path: string[]): void => {
    state.set(node, 'active');
    for (const next of inPlace(root, node, path)) {
      const seen = state.get(next.node);
      if (seen === 'active') {
        const problem = '$ref comes back to where it started without descending into the data';
        throw new InvalidInputError(`${[...where, ...path].join('/')} ${problem}`, [{ path: [...where, ...path], message: problem }]);
      }
      if (seen === undefined) visit(next.node, next.path);
    }
    state.set(node, 'done');
  };
  // Every subschema, in document order, is a start: the loop may sit below a property.
  const pending: Child[] = [{ node: root, path: [] }];
  for (let next = pending.shift(); next; next = pending.shift()) {
    if (!state.has(next.node)) visit(next.node, next.path);
    pending.push(...inPlace(root, next.node, next.path, false), ...descent(next.node, next.path));
  }
}

/** The subschemas judging the same value as `node`, its `$ref`'s target first (unless `withRef` is false). */
function inPlace(root: Schema, node: Schema, path: string[], withRef = true): Child[] {
  const children: Child[] = [];
  if (withRef && typeof node.$ref === 'string') {
    const target = resolve(root, node.$ref);
    if (target) children.push(target);
  }
  for (const key of IN_PLACE_ONE) pushSchema(children, node[key], [...path, key]);
  for (const key of IN_PLACE_LIST) pushList(children, node[key], [...path, key]);
  for (const key of IN_PLACE_MAP) pushMap(children, node[key], [...path, key]);
  return children;
}

function descent(node: Schema, path: string[]): Child[] {
  const children: Child[] = [];
  for (const key of DESCENT_ONE) pushSchema(children, node[key], [...path, key]);
  for (const key of DESCENT_LIST) pushList(children, node[key], [...path, key]);
  for (const key of DESCENT_MAP) pushMap(children, node[key], [...path, key]);
  return children;
}

function pushSchema(children: Child[], value: unknown, path: string[]): void {
  if (isSchema(value)) children.push({ node: value, path });
}

function pushList(children: Child[], value: unknown, path: string[]): void {
  if (Array.isArray(value)) value.forEach((item, index) => pushSchema(children, item, [...path, String(index)]));
}

function pushMap(children: Child[], value: unknown, path: string[]): void {
  if (!isSchema(value)) return;
  for (const key of Object.keys(value)) pushSchema(children, value[key], [...path, key]);
}

/** A reference to a place in this schema: `#`, `#/a/b` (JSON pointer), or the root's `$id` before them. */
function resolve(root: Schema, ref: string): Child | undefined {
  const id = typeof root.$id === 'string' ? root.$id : undefined;
  if (ref === '#' || (id !== undefined && (ref === id || ref === `${id}#`))) return { node: root, path: [] };
  const local = id !== undefined && ref.startsWith(`${id}#/`) ? ref.slice(id.length) : ref;
  if (!local.startsWith('#/')) return undefined;
  let at: unknown = root;
  const path: string[] = [];
  for (const raw of local.slice(2).split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    } catch {
      return undefined;
    }
    if (Array.isArray(at)) at = at[Number(segment)];
    else if (isSchema(at) && Object.hasOwn(at, segment)) at = at[segment];
    else return undefined;
    path.push(segment);
  }
  return isSchema(at) ? { node: at, path } : undefined;
}

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
