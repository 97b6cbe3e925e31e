/**
 * What a CRUD collection declares, for its emulator, written from crud-service 7.2.5
 * (lib/JSONSchemaGenerator.js, lib/validatorGetters.js, lib/httpInterface.js): the body schemas of
 * `POST /` and `POST /bulk` have `additionalProperties: false`, so an undeclared field is a 400;
 * `POST /import` validates each item with an ajv built with `removeAdditional: true`, so the same
 * field is dropped and the insert succeeds; `GET /schema` answers the item's `{type, properties, required}`.
 */

import type { FieldType, Json, Types } from './crud-semantics.js';

/** The fields every CRUD collection has, declared (and required) by the CRUD itself. */
export const CRUD_OWN_FIELDS = ['_id', 'creatorId', 'createdAt', 'updaterId', 'updatedAt', '__STATE__'] as const;

/** The top-level names a collection declares (a dotted path declares its first segment). */
export function declaredNames(types: Types): Set<string> {
  return new Set([...CRUD_OWN_FIELDS, ...Object.keys(types).map((path) => path.split('.')[0]!)]);
}

/**
 * The first undeclared field of a body, if any, with the path of the object it is in: at the top
 * level, or in one of the `closed` object fields (declared with `additionalProperties: false`).
 */
export function firstUndeclared(body: Json, types: Types, closed: string[] = []): { at: string; key: string } | undefined {
  const declared = declaredNames(types);
  const top = Object.keys(body).find((key) => !declared.has(key));
  if (top !== undefined) return { at: '', key: top };
  for (const path of closed) {
    const value = Object.hasOwn(body, path) ? body[path] : undefined;
    const key = isObject(value) ? Object.keys(value).find((inner) => !Object.hasOwn(types, `${path}.${inner}`)) : undefined;
    if (key !== undefined) return { at: `/${path}`, key };
  }
  return undefined;
}

/** A body without its undeclared fields, as ajv's `removeAdditional: true` leaves it. */
export function withoutUndeclared(body: Json, types: Types, closed: string[] = []): Json {
  const declared = declaredNames(types);
  const kept = Object.fromEntries(Object.entries(body).filter(([key]) => declared.has(key)));
  for (const path of closed) {
    const value = kept[path];
    if (isObject(value)) kept[path] = Object.fromEntries(Object.entries(value).filter(([key]) => Object.hasOwn(types, `${path}.${key}`)));
  }
  return kept;
}

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `GET /<collection>/schema`: the item's JSON schema, as the CRUD serialises a document. */
export function itemSchema(types: Types, closed: string[] = []): { type: 'object'; properties: Json; required: string[] } {
  const properties: Json = {
    _id: { type: 'string', pattern: '^[a-fA-F\\d]{24}$', description: '_id' },
    creatorId: { type: 'string', description: 'creatorId' },
    createdAt: { type: 'string', format: 'date-time', description: 'createdAt' },
    updaterId: { type: 'string', description: 'updaterId' },
    updatedAt: { type: 'string', format: 'date-time', description: 'updatedAt' },
    __STATE__: { type: 'string', description: '__STATE__' },
  };
  // Parents before children: `address` before `address.city`, `roles` before `roles.__items`.
  const paths = Object.keys(types).sort((a, b) => a.split('.').length - b.split('.').length);
  for (const path of paths) {
    const segments = path.split('.');
    const name = segments.pop()!;
    const parent = segments.reduce<Json | undefined>((at, segment) => childrenOf(at, segment), properties);
    if (!parent) continue;
    if (name === '__items') (parent as Json).items = schemaOf(types[path]!);
    else if (!Object.hasOwn(parent, name)) parent[name] = schemaOf(types[path]!);
  }
  for (const path of closed) if (isObject(properties[path])) (properties[path] as Json).additionalProperties = false;
  return { type: 'object', properties, required: [...CRUD_OWN_FIELDS] };
}

/** The properties (or items) object under `segment` of a schema level, made when missing. */
function childrenOf(level: Json | undefined, segment: string): Json | undefined {
  const node = level && Object.hasOwn(level, segment) ? (level[segment] as Json) : undefined;
  if (!node) return undefined;
  if (segment === '__items') return undefined;
  if (node.type === 'array') return node as Json;
  node.properties ??= {};
  return node.properties as Json;
}

function schemaOf(type: FieldType): Json {
  if (type === 'date') return { type: 'string', format: 'date-time' };
  if (type === 'array') return { type: 'array', items: {} };
  if (type === 'object') return { type: 'object', additionalProperties: true };
  return { type };
}
