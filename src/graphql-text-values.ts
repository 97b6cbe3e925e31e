import { defaultFieldResolver, type GraphQLLeafType, type GraphQLOutputType, isListType, isNonNullType } from 'graphql';
import type { Context } from './context.js';
import type { LeafItem, NodeItem } from './graphql-text-plans.js';

// The text graphql-js writes for fields of an object, made with the schema's own resolvers and
// scalars: undefined wherever graphql-js would answer an error (a value a scalar refuses, null in a
// non-null field, a resolver that throws) or could only answer later (a promise).

/** The object's text: `{` its fields `}`; undefined if any field cannot be written. */
export function objectText(items: readonly NodeItem[], source: unknown, ctx: Context): string | undefined {
  const fields = fieldsText(items, source, ctx);
  return fields === undefined ? undefined : `{${fields}}`;
}

/** The fields' `"key":value` text, comma-separated; undefined if any cannot be written. */
export function fieldsText(items: readonly NodeItem[], source: unknown, ctx: Context): string | undefined {
  let out = '';
  for (const item of items) {
    let value: string | undefined;
    if ('typename' in item) value = JSON.stringify(item.typename);
    else {
      let result: unknown;
      try {
        result = resolved(item, source, ctx);
      } catch {
        return undefined;
      }
      value = result instanceof Promise ? undefined : leafText(item.type, result);
    }
    if (value === undefined) return undefined;
    out += `${out ? ',' : ''}${item.key}${value}`;
  }
  return out;
}

/** What the field's resolver answers for `source` (a promise as it is; a throw is thrown). */
function resolved(item: LeafItem, source: unknown, ctx: Context): unknown {
  const resolve = item.field.resolve ?? defaultFieldResolver;
  return resolve(source, {}, ctx, item.info as never);
}

/**
 * A leaf value (or a list of them) as graphql-js completes it: null for null or undefined where the
 * type allows it, the scalar's or enum's serialization otherwise. Undefined where graphql-js would
 * answer an error instead.
 */
function leafText(type: GraphQLOutputType, value: unknown): string | undefined {
  if (isNonNullType(type)) return value === null || value === undefined ? undefined : leafText(type.ofType, value);
  if (value === null || value === undefined) return 'null';
  if (value instanceof Error) return undefined;
  if (isListType(type)) {
    if (!Array.isArray(value)) return undefined;
    let out = '[';
    for (let index = 0; index < value.length; index += 1) {
      const item = leafText(type.ofType, value[index]);
      if (item === undefined) return undefined;
      out += `${index > 0 ? ',' : ''}${item}`;
    }
    return `${out}]`;
  }
  try {
    const serialized = (type as GraphQLLeafType).serialize(value);
    return serialized === null || serialized === undefined ? undefined : JSON.stringify(serialized);
  } catch {
    return undefined;
  }
}
