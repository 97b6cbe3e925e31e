import { GraphQLScalarType } from 'graphql';
import { DateTimeResolver, JSONObjectResolver, JSONResolver } from 'graphql-scalars';
import { GraphQLUpload } from 'graphql-upload-ts';
import { assertSafeInput } from '../domain/input-limits.js';
import { builder } from './builder.js';

const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Whether `value` is what `toISOString()` writes for a real instant: the shape, then the day and hour it names exist. */
export function isCanonicalDateTime(value: unknown): value is string {
  if (typeof value !== 'string' || !CANONICAL.test(value)) return false;
  const time = Date.parse(value);
  if (Number.isNaN(time)) return false;
  // Date.parse rolls 2026-02-30 over to March 2 and 24:00 over to the next day: neither is canonical.
  const date = new Date(time);
  return date.getUTCDate() === Number(value.slice(8, 10)) && date.getUTCHours() === Number(value.slice(11, 13));
}

/**
 * graphql-scalars' DateTime, with a fast path for the dates the stores and identity providers hold:
 * already canonical, they are answered as they are. The library turns each string into a Date
 * (about 2 µs, 0.4 ms on a page of 100 users with two dates each) that serializes to the same text.
 */
export const DateTimeScalar = new GraphQLScalarType({
  ...DateTimeResolver.toConfig(),
  serialize: (value) => (isCanonicalDateTime(value) ? value : DateTimeResolver.serialize(value)),
});

/** A JSON scalar whose input may hold no forbidden field name (`__proto__`, `constructor`, `prototype`) and no hostile depth. */
function withSafeKeys(scalar: GraphQLScalarType): GraphQLScalarType {
  const config = scalar.toConfig();
  return new GraphQLScalarType({
    ...config,
    parseValue: (value) => checked(config.parseValue!(value)),
    parseLiteral: (ast, variables) => checked(config.parseLiteral!(ast, variables)),
  });
}

function checked<T>(value: T): T {
  assertSafeInput(value, { where: [] });
  return value;
}

builder.addScalarType('JSON', withSafeKeys(JSONResolver));
builder.addScalarType('JSONObject', withSafeKeys(JSONObjectResolver));
builder.addScalarType('DateTime', DateTimeScalar);
builder.addScalarType('Upload', GraphQLUpload);
