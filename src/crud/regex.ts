import { Context } from 'mingo';
import * as queryOperators from 'mingo/operators/query';
import { Query } from 'mingo/query';
import type { Options } from 'mingo/types';
import { RE2JS } from 're2js';
import { isPlainObject } from './filter.js';
import { InvalidInputError } from '../errors.js';
import { hashedIn, hashedNin } from './membership.js';

/**
 * `$regex` in linear time. mingo evaluates `$regex` with JavaScript's backtracking RegExp, where
 * `^(a+)+$` over 40 characters blocks the event loop for hours. Here every pattern runs on RE2
 * (re2js): time linear in the text, at the price of RE2's syntax (no backreferences, no lookaround;
 * those are refused with a 400 rather than run).
 */

/** Longest `$regex` accepted, in characters. */
export const MAX_PATTERN_LENGTH = 1000;
/**
 * Largest compiled RE2 program accepted. Matching costs up to (program size × text length); RE2
 * already caps counted repetition at 1000, and this keeps `(.*a){1000}` from costing 1000 steps
 * per character. Ordinary patterns compile to well under 100.
 */
export const MAX_PROGRAM_SIZE = 2000;

/** MongoDB's `$options` letters RE2 can honour; `u` is accepted and changes nothing (RE2 is Unicode). */
const FLAGS: Record<string, number> = { i: RE2JS.CASE_INSENSITIVE, m: RE2JS.MULTILINE, s: RE2JS.DOTALL, u: 0 };

/** The operator the rewritten filter uses; it never reaches mingo's own `$regex`. */
const LINEAR_REGEX = '$linearRegex' as const;
/**
 * Whether the item `$elemMatch` tests is a document. mingo resolves any path on a scalar to the
 * scalar itself, so `{a: 1}` matched the item 1; MongoDB matches a filter on fields to documents only.
 */
const IS_DOCUMENT = '$umsIsDocument' as const;
/** A `$pull` condition on the fields of the items, applied to document items only (MongoDB's rule). */
const DOCUMENT_MATCHING = '$umsDocumentMatching' as const;
/** Top-level operators of a filter: a `$pull` condition that starts with one is a filter on documents. */
const LOGICAL = new Set(['$and', '$or', '$nor']);
/** Query operators the CRUD never accepts, left out so no filter can reach them here either. */
const EXCLUDED = new Set(['$where', '$expr', '$jsonSchema']);

/** Where a refused pattern came from, for the 400 (`querystring/_q`). */
type Where = string[];
const QUERY_STRING: Where = ['querystring', '_q'];

export interface RegexSpec {
  pattern: unknown;
  options?: unknown;
}

/**
 * A mingo query whose every `$regex` (at any depth) runs on RE2; refused patterns throw a 400.
 * `isTextHit`: for a filter where `$text` stands (text-search.ts placement), whether a document is
 * one the full-text index matched; without it, `$text` is mingo's error (the caller's 400).
 */
export function createLinearQuery(
  filter: Record<string, unknown>,
  where: Where = QUERY_STRING,
  isTextHit?: (doc: Record<string, unknown>) => boolean,
): Query {
  if (!isTextHit) return new Query(rewriteFilter(filter, where), linearQueryOptions(where));
  const options = linearQueryOptions(where, { [TEXT_HIT]: () => (obj: unknown) => isPlainObject(obj) && isTextHit(obj) });
  return new Query(rewriteFilter(withTextHits(filter), where), options);
}

/** The operator `$text` is rewritten to: the document is one the index matched. */
const TEXT_HIT = '$umsTextHit' as const;

/** `{$text: …, rest}` wherever `$text` may stand (the top, clauses of `$and`/`$or`) → `{$and: [{_id: {$umsTextHit: 1}}, rest]}`. */
function withTextHits(filter: Record<string, unknown>): Record<string, unknown> {
  const rest = Object.fromEntries(
    Object.entries(filter)
      .filter(([key]) => key !== '$text')
      .map(([key, value]) => [
        key,
        (key === '$and' || key === '$or') && Array.isArray(value)
          ? value.map((item: unknown) => (isPlainObject(item) ? withTextHits(item) : item))
          : value,
      ]),
  );
  return Object.hasOwn(filter, '$text') ? { $and: [{ _id: { [TEXT_HIT]: 1 } }, rest] } : rest;
}

/**
 * An update whose `$pull` conditions on the fields of the items pull documents only, as MongoDB's:
 * MongoDB decides by the condition's first key (an operator on the item, `{$in: [1]}`, tests the
 * item itself; a field, `{}`, `$or`, `$and` or `$nor` is a filter on document items). mingo tests
 * the item itself when any key is an operator, and resolves a path on a scalar to the scalar: `{a: 1}`
 * pulled the item 1, `$nor` pulled every item, `$or` and `$and` none, `{a: 1, $or: …}` was refused.
 */
export function pullingDocumentsOnly<T>(expr: T, where: Where = ['body', '$pull']): T {
  if (!isPlainObject(expr) || !isPlainObject(expr.$pull)) return expr;
  // Rewritten as filters are, so a nested `$elemMatch` on fields also skips scalars.
  const pull = Object.entries(expr.$pull).map(([path, condition]) => [
    path,
    filtersDocuments(condition) ? { [DOCUMENT_MATCHING]: rewriteFilter(condition, where) } : rewriteCondition(condition, where),
  ]);
  return { ...expr, $pull: Object.fromEntries(pull) };
}

function filtersDocuments(condition: unknown): condition is Record<string, unknown> {
  if (!isPlainObject(condition)) return false;
  const [first] = Object.keys(condition);
  return first === undefined || !isOperator(first) || LOGICAL.has(first);
}

/** The operator `pullingDocumentsOnly` wraps a condition in: the value at `selector` is a document the filter matches. */
function documentMatching(selector: string, filter: unknown, options: Options) {
  if (!isPlainObject(filter)) throw new InvalidInputError(`${DOCUMENT_MATCHING} takes a filter`);
  const query = new Query(filter, options);
  return (obj: unknown) => {
    const item = isPlainObject(obj) && Object.hasOwn(obj, selector) ? obj[selector] : undefined;
    return isPlainObject(item) && query.test(item);
  };
}

/**
 * Query options for mingo whose `$regex` runs on RE2. Also for the updater (`$pull` conditions),
 * and without the operators the CRUD never accepts (`$where` runs code, `$expr` reaches the
 * backtracking `$regexMatch`, `$jsonSchema` patterns).
 */
export function linearQueryOptions(where: Where = QUERY_STRING, extra: Record<string, unknown> = {}): Partial<Options> {
  const allowed = Object.fromEntries(Object.entries(queryOperators).filter(([name]) => !EXCLUDED.has(name)));
  const linear = (selector: string, value: unknown, options: Options) => queryOperators.$regex(selector, toMatcher(value, where), options);
  const isDocument = () => (item: unknown) => isPlainObject(item);
  const context = Context.init({
    query: {
      ...allowed,
      $in: hashedIn,
      $nin: hashedNin,
      $regex: linear,
      [LINEAR_REGEX]: linear,
      [IS_DOCUMENT]: isDocument,
      [DOCUMENT_MATCHING]: documentMatching,
      ...extra,
    },
  });
  return { context, scriptEnabled: false };
}

/**
 * Compiles a MongoDB `$regex`/`$options` pair with RE2, or throws a 400 saying why not.
 * Pattern text is RE2 syntax (close to PCRE's: `(?i)`, `\pL`, `[[:alpha:]]`, `\Q…\E` work); a
 * `/pattern/flags` string is a literal pattern, as it is for MongoDB.
 */
export function compileRegex({ pattern, options = '' }: RegexSpec, where: Where = QUERY_STRING): RE2JS {
  if (typeof pattern !== 'string') throw refuse(where, '$regex must be a string');
  if (typeof options !== 'string') throw refuse(where, '$options must be a string');
  if (pattern.length > MAX_PATTERN_LENGTH) throw refuse(where, `$regex must NOT be longer than ${MAX_PATTERN_LENGTH} characters`);
  const flags = toFlags(options, where);
  const key = `${flags}/${pattern}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const compiled = compileChecked(pattern, flags, where);
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(key, compiled);
  return compiled;
}

const CACHE_SIZE = 200;
const cache = new Map<string, RE2JS>();

function compileChecked(pattern: string, flags: number, where: Where): RE2JS {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(pattern, flags);
  } catch (error) {
    const reason = String((error as Error).message).replace(/^error parsing regexp: /, '');
    throw refuse(where, `$regex is not supported (linear-time RE2 syntax: no backreferences or lookaround): ${reason}`);
  }
  if (compiled.programSize() > MAX_PROGRAM_SIZE) {
    throw refuse(where, `$regex is too complex (compiled size ${compiled.programSize()}, at most ${MAX_PROGRAM_SIZE})`);
  }
  return compiled;
}

function toFlags(options: string, where: Where): number {
  let flags = 0;
  for (const letter of options) {
    if (!Object.hasOwn(FLAGS, letter)) {
      throw refuse(where, `$options must only contain the flags i, m, s, u (${JSON.stringify(letter)} is not supported)`);
    }
    flags |= FLAGS[letter]!;
  }
  return flags;
}

/**
 * What mingo's `$regex` predicate calls `exec` on. A rewritten `{pattern, options}`, or a
 * JavaScript RegExp built by mingo itself (paths the rewrite does not see, e.g. `$pull` in an
 * update), recompiled with RE2 from its source and flags.
 */
function toMatcher(value: unknown, where: Where): { exec(text: string): string[] | null } {
  const spec: RegexSpec =
    value instanceof RegExp
      ? { pattern: value.source, options: value.flags }
      : isPlainObject(value)
        ? { pattern: value.pattern, options: value.options }
        : { pattern: value };
  const re = compileRegex(spec, where);
  return { exec: (text) => (re.test(text) ? [text] : null) };
}

/** `{field: {$regex, $options}}` anywhere a condition can sit → `{field: {$linearRegex: {…}}}`. */
function rewriteFilter(filter: Record<string, unknown>, where: Where): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(filter)) {
    if ((key === '$and' || key === '$or' || key === '$nor') && Array.isArray(value)) {
      out[key] = value.map((branch) => (isPlainObject(branch) ? rewriteFilter(branch, where) : branch));
    } else {
      out[key] = key.startsWith('$') ? value : rewriteCondition(value, where);
    }
  }
  return out;
}

function rewriteCondition(condition: unknown, where: Where): unknown {
  if (!isPlainObject(condition) || !Object.keys(condition).some(isOperator)) return condition;
  if (Object.hasOwn(condition, '$options') && !Object.hasOwn(condition, '$regex')) throw refuse(where, '$options needs a $regex');
  const out: Record<string, unknown> = {};
  for (const [operator, operand] of Object.entries(condition)) {
    if (operator === '$regex') {
      const spec = { pattern: operand, options: condition.$options ?? '' };
      compileRegex(spec, where); // refused here, before mingo builds anything
      out[LINEAR_REGEX] = spec;
    } else if (operator === '$options') {
      continue;
    } else if (operator === '$elemMatch') {
      out[operator] = rewriteNested(operand, where);
    } else if (operator === '$not') {
      out[operator] = rewriteCondition(operand, where);
    } else if (operator === '$all' && Array.isArray(operand)) {
      out[operator] = operand.map((item) =>
        isPlainObject(item) && Object.hasOwn(item, '$elemMatch') ? { ...item, $elemMatch: rewriteNested(item.$elemMatch, where) } : item,
      );
    } else {
      out[operator] = operand;
    }
  }
  return out;
}

/** `$elemMatch` takes a condition on the element (only operators) or a filter on its fields (mingo's rule). */
function rewriteNested(operand: unknown, where: Where): unknown {
  if (!isPlainObject(operand)) return operand;
  const keys = Object.keys(operand);
  const isCondition = keys.length > 0 && keys.every((key) => isOperator(key) && key !== '$and' && key !== '$or' && key !== '$nor');
  if (isCondition || keys.length === 0) return isCondition ? rewriteCondition(operand, where) : operand;
  return { $and: [{ item: { [IS_DOCUMENT]: true } }, rewriteFilter(operand, where)] };
}

/** mingo's own test of an operator name. */
function isOperator(key: string): boolean {
  return /^\$[a-zA-Z0-9_]+$/.test(key);
}

function refuse(where: Where, problem: string): InvalidInputError {
  return new InvalidInputError(`${where.join('/')} ${problem}`, [{ path: where, message: problem }]);
}
