import { isPlainObject } from './filter.js';

/**
 * What the service knows of a field's type, read from the group schemas the way the CRUD Service
 * reads its collection schema: a string with a date format is a date, an object or an array of
 * objects has fields of its own, an array of scalars has an item type. `any` is a field whose
 * type is not known (no `type`, or two groups that disagree): it is never cast.
 */
export type FieldType = 'string' | 'number' | 'integer' | 'boolean' | 'date' | 'array' | 'object' | 'any';

export interface FieldSchema {
  type: FieldType;
  /** The element of an array. */
  items?: FieldSchema;
  /** The declared fields of an object (a Map: a field named `constructor` must find nothing). */
  properties?: Map<string, FieldSchema>;
  /** An object's required properties, and whether it allows no other (`additionalProperties: false`). */
  required?: readonly string[];
  closed?: boolean;
}

export type FieldIndex = Map<string, FieldSchema>;

/** The JSON Schema formats the CRUD Service stores as dates. */
const DATE_FORMATS = new Set(['date-time', 'date', 'time', 'duration']);

const STRING: FieldSchema = { type: 'string' };
const DATE: FieldSchema = { type: 'date' };

/** Fields every user has, whatever its group (the CRUD collection's own fields and the service's). */
const STANDARD: [string, FieldSchema][] = [
  ['_id', STRING],
  ['__STATE__', STRING],
  ['userGroup', STRING],
  ['authUserId', STRING],
  ['username', STRING],
  ['email', STRING],
  ['expirationId', STRING],
  ['creatorId', STRING],
  ['updaterId', STRING],
  ['blocked', { type: 'boolean' }],
  ['roles', { type: 'array', items: STRING }],
  ['expirationDate', DATE],
  ['createdAt', DATE],
  ['updatedAt', DATE],
];

/** Whether `path` names a known field, judged as the CRUD judges it: by its first segment. */
export function isKnownField(index: FieldIndex, path: string): boolean {
  return !isClosed(index) || index.has(path.split('.')[0]!);
}

/** Indexes that name every field a user can hold (see isClosed). */
const CLOSED = new WeakSet<FieldIndex>();

/**
 * Whether the index names every field a user can hold, as the CRUD's collection definition does:
 * true when there is at least one group and every group's schema refuses other properties
 * (`additionalProperties: false`, no `patternProperties`). A query naming another field is then a
 * 400, as in the CRUD; with an open group a field the index lacks may still be stored.
 */
export function isClosed(index: FieldIndex): boolean {
  return CLOSED.has(index);
}

function closesFields(schema: unknown): boolean {
  return isPlainObject(schema) && schema.additionalProperties === false && schema.patternProperties === undefined;
}

/** The fields of every user: the standard ones, then each group schema's `properties`, merged. */
export function fieldIndexOf(crudSchemas: readonly unknown[]): FieldIndex {
  const index: FieldIndex = new Map(STANDARD);
  if (crudSchemas.length > 0 && crudSchemas.every(closesFields)) CLOSED.add(index);
  for (const schema of crudSchemas) {
    if (!isPlainObject(schema) || !isPlainObject(schema.properties)) continue;
    for (const [name, property] of Object.entries(schema.properties)) {
      const standard = STANDARD.find(([field]) => field === name);
      if (standard) continue; // the service's own fields keep their type whatever a group says
      const read = readSchema(property, 0);
      const known = index.get(name);
      index.set(name, known ? merge(known, read) : read);
    }
  }
  return index;
}

/** The schema of a dotted path; array indexes (`tags.0`) and paths through arrays of objects descend into the items. */
export function fieldAt(index: FieldIndex, path: string): FieldSchema | undefined {
  const segments = path.split('.');
  let current = index.get(segments[0]!);
  for (const segment of segments.slice(1)) {
    if (!current) return undefined;
    if (current.type === 'array' && current.items) {
      if (/^\d+$/.test(segment)) {
        current = current.items;
        continue;
      }
      current = current.items;
    }
    current = current.properties?.get(segment);
  }
  return current;
}

/** Whether a dotted path passes through an array before its last segment (`attachments.name`): it then meets many values. */
export function crossesArray(index: FieldIndex, path: string): boolean {
  const segments = path.split('.');
  let current = index.get(segments[0]!);
  for (const segment of segments.slice(1)) {
    if (!current) return false;
    if (current.type === 'array') {
      if (!/^\d+$/.test(segment)) return true;
      current = current.items;
      continue;
    }
    current = current.properties?.get(segment);
  }
  return false;
}

/** Deep enough for any real schema; a deeper one is read as untyped below that depth. */
const MAX_DEPTH = 32;

function readSchema(schema: unknown, depth: number): FieldSchema {
  if (!isPlainObject(schema) || depth > MAX_DEPTH) return { type: 'any' };
  switch (typeOf(schema.type)) {
    case 'string':
      return typeof schema.format === 'string' && DATE_FORMATS.has(schema.format) ? DATE : STRING;
    case 'number':
    case 'integer':
    case 'boolean':
      return { type: typeOf(schema.type) as FieldType };
    case 'array':
      return { type: 'array', items: schema.items === undefined ? undefined : readSchema(schema.items, depth + 1) };
    case 'object': {
      const properties = new Map<string, FieldSchema>();
      if (isPlainObject(schema.properties)) {
        for (const [name, property] of Object.entries(schema.properties)) properties.set(name, readSchema(property, depth + 1));
      }
      const required = Array.isArray(schema.required) ? schema.required.filter((name) => typeof name === 'string') : [];
      return { type: 'object', properties, required, closed: closesFields(schema) };
    }
    default:
      return { type: 'any' };
  }
}

/** A schema's `type`; `["string", "null"]` (a nullable field) is its one non-null type. */
function typeOf(type: unknown): unknown {
  if (!Array.isArray(type)) return type;
  const types = type.filter((item) => item !== 'null');
  return types.length === 1 ? types[0] : undefined;
}

/** Two groups' readings of one field: the same type keeps it (objects and arrays merge their parts), else untyped. */
function merge(a: FieldSchema, b: FieldSchema): FieldSchema {
  if (a.type !== b.type) return { type: 'any' };
  if (a.type === 'array') {
    const items = a.items && b.items ? merge(a.items, b.items) : (a.items ?? b.items);
    return { type: 'array', items };
  }
  if (a.type !== 'object') return a;
  const properties = new Map(a.properties);
  for (const [name, field] of b.properties ?? []) {
    const known = properties.get(name);
    properties.set(name, known ? merge(known, field) : field);
  }
  // What both groups ask of the object: the properties both require, closed only if both close it.
  const required = (a.required ?? []).filter((name) => b.required?.includes(name));
  return { type: 'object', properties, required, closed: Boolean(a.closed && b.closed) };
}
