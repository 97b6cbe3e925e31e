import { evalExpr } from 'mingo/core';
import * as expressions from 'mingo/operators/expression';
import type { Options } from 'mingo/types';
import { chargeOnce, chargeWork } from './expression-work.js';
import { isPlainObject } from './filter.js';
import { compileRegex } from './regex.js';
import { refuse, where } from './raw-expressions.js';

/**
 * The operators of `_rawp` expressions the service evaluates (raw-expressions.ts) that mingo's own
 * would run without bounds or read a value as an expression again: each charges the answer's
 * evaluation budget (expression-work.ts) with what it costs.
 */

export type ExpressionOperator = (obj: unknown, expr: unknown, options: Options) => unknown;

/** An internal operator holding a value already computed (the request cannot name it: the CRUD's dictionary refuses it). */
export const VALUE = '$umsComputed';

/**
 * Work units of compiling a pattern: RE2's Unicode classes, repeated, take 1 to 3 ms for 30
 * characters (`(?i)[\p{L}\p{N}]{2,30}`) and up to 7.5 ms for 800; about 16 new patterns per answer.
 */
const COMPILE_UNITS = 2_500_000;
const COMPILE_WEIGHT = 10_000;

/**
 * `$regexMatch` on RE2 (mingo's runs JavaScript's backtracking RegExp). RE2's time is linear in the
 * text, but by the compiled program's size (up to 2,000): each match charges the text's length ×
 * that size, and each pattern new to the answer its compilation (a pattern may be read from the
 * users, `"regex": "$$this"`: 600 of them took 2 s).
 */
export function regexMatch(obj: unknown, expr: unknown, options: Options): boolean {
  const value = evalExpr(obj, expr, options) as Record<string, unknown>;
  if (!isPlainObject(value)) throw refuse('$regexMatch takes {input, regex, options}');
  if (typeof value.input !== 'string') return false;
  const spec = { pattern: value.regex, options: value.options ?? '' };
  if (typeof spec.pattern === 'string')
    chargeOnce(`${String(spec.options)}/${spec.pattern}`, COMPILE_UNITS + spec.pattern.length * COMPILE_WEIGHT);
  const compiled = compileRegex(spec, where);
  chargeWork(value.input.length * compiled.programSize());
  return compiled.test(value.input);
}

/**
 * `$dateToString` of the values its operand computes, handed to mingo as they are: mingo evaluated
 * the date it computed again, as an expression, so a name the caller reads holding `"$createdAt"`
 * answered the date acl_read_columns hides (`"$$ROOT"` the document's `date`). As MongoDB, only a
 * date is a date (`can't convert from BSON type string to Date`, here the 400 `cannot be evaluated`).
 */
export function dateToString(obj: unknown, expr: unknown, options: Options): unknown {
  const args = evalExpr(obj, expr, options);
  if (!isPlainObject(args)) throw new Error('$dateToString takes {date, format, timezone, onNull}');
  if (args.date !== null && args.date !== undefined && !(args.date instanceof Date)) throw new Error('$dateToString takes a date');
  if (args.date instanceof Date) chargeWork(formatUnits(typeof args.format === 'string' ? args.format : DEFAULT_FORMAT));
  const computed = Object.fromEntries(Object.entries(args).map(([key, value]) => [key, { [VALUE]: value }]));
  return (expressions.$dateToString as ExpressionOperator)(obj, computed, options);
}

const DEFAULT_FORMAT = '%Y-%m-%dT%H:%M:%S.%LZ';
/**
 * Work units of a `$dateToString` format: mingo rewrites the whole text once per directive (about
 * 1 µs, plus the text's length), and asks the locale for each month name (`%b`, `%B`: 40 to 135 µs).
 * 500 `%B` in one format took 70 ms a user; 300 `%Y-%m-%d` 2 ms a date.
 */
function formatUnits(format: string): number {
  const directives = format.match(/%[bBYGmdjHMSLwuUVzZ%]/g) ?? [];
  const months = directives.filter((directive) => directive === '%b' || directive === '%B').length;
  return directives.length * (1000 + format.length) + months * 150_000;
}
