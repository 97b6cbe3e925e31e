import { Context } from 'mingo';
import { Aggregator } from 'mingo/aggregator';
import { evalExpr } from 'mingo/core';
import * as expressions from 'mingo/operators/expression';
import { $project } from 'mingo/operators/pipeline';
import * as projections from 'mingo/operators/projection';
import { InvalidInputError } from '../errors.js';
import { dateToString, type ExpressionOperator, regexMatch, VALUE } from './expression-operators.js';
import { assertAnswerSize, chargeWork, startEvaluation, tooMuchWork, weightOf, workLeft } from './expression-work.js';
import type { FieldIndex, FieldSchema } from './field-types.js';
import { isPlainObject } from './filter.js';
import { EXPRESSIONS, ITEM_BUDGET, nodesOf, readsOf, refuse, where, WORK_BUDGET } from './raw-expressions.js';
import { linearQueryOptions } from './regex.js';

/**
 * The evaluation of `_rawp` expressions raw-expressions.ts checked (its bounds are described
 * there): mingo's `$project` with only the expressions of the CRUD's dictionary. Loaded only when a
 * projection needs it (raw-expressions.ts `projectExpressions`).
 */

/** The items × body values charged so far by the answer being projected (evaluation is synchronous). */
let itemWork = 0;

/**
 * `$filter`/`$map` charging ITEM_BUDGET with their items × their body's values before they run,
 * and the evaluation's budget with the items' weight × those values (each may compare, read or
 * repeat a whole item: 190 `$$this` made an answer of 76 MB of a user of 400 KB); their input,
 * computed here, is handed to them as it is (computed twice, a chain of inputs would double its
 * work at each level).
 */
function charged(operator: ExpressionOperator, body: 'cond' | 'in'): ExpressionOperator {
  return (obj, expr, options) => {
    if (!isPlainObject(expr)) return operator(obj, expr, options);
    const input = evalExpr(obj, expr.input, options);
    if (Array.isArray(input)) {
      const values = nodesOf(expr[body]) + 2;
      itemWork += input.length * values;
      if (itemWork > ITEM_BUDGET) throw tooMuchWork();
      chargeWork(weightOf(input, workLeft() / values) * values);
    }
    return operator(obj, { ...expr, input: { [VALUE]: input } }, options);
  };
}

let context: Context | undefined;
function projectionContext(): Context {
  if (context) return context;
  const chosen: Record<string, unknown> = Object.fromEntries(
    EXPRESSIONS.map((name) => [name, expressions[name as keyof typeof expressions]]),
  );
  chosen.$filter = charged(expressions.$filter as ExpressionOperator, 'cond');
  chosen.$map = charged(expressions.$map as ExpressionOperator, 'in');
  chosen.$dateToString = dateToString;
  chosen[VALUE] = (_obj: unknown, value: unknown) => value;
  // The query operators of `$elemMatch` (a projection operator) are the filters' own, `$regex` on RE2.
  const query = linearQueryOptions(where).context!;
  context = Context.from(
    query,
    Context.init({ expression: { ...chosen, $regexMatch: regexMatch }, pipeline: { $project }, projection: projections }),
  );
  return context;
}

/**
 * The documents projected by `spec` (checked by checkExpressions), their date fields (by `index`)
 * read as dates, as MongoDB holds them, and written back as the service answers them (ISO text).
 */
export function projectExpressions(
  docs: readonly Record<string, unknown>[],
  spec: Record<string, unknown>,
  index: FieldIndex,
): Record<string, unknown>[] {
  if (docs.length === 0) return [];
  const reads = readsOf(spec) + 1;
  const nodes = nodesOf(spec);
  let work = 0;
  for (const doc of docs) {
    work += JSON.stringify(doc).length * reads + nodes;
    if (work > WORK_BUDGET) throw tooMuchWork();
  }
  itemWork = 0;
  startEvaluation();
  const input = docs.map((doc) => asDates(doc, index));
  let output: Record<string, unknown>[];
  try {
    output = new Aggregator([{ $project: spec }], { context: projectionContext(), scriptEnabled: false }).run(input) as Record<
      string,
      unknown
    >[];
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    // mingo's words name its internals; the operator it stumbled on is worth naming.
    const operator = /\$[A-Za-z]+/.exec(String((error as Error).message))?.[0];
    throw refuse(`cannot be evaluated${operator ? ` (${operator})` : ''}: an expression does not fit the values it takes`);
  }
  assertAnswerSize(output);
  return output.map((doc) => {
    const written = fromDates(doc) as Record<string, unknown>;
    // `_id` first, as MongoDB answers it.
    return Object.hasOwn(written, '_id') ? { _id: written._id, ...written } : written;
  });
}

/** A document with its date fields (by the index) as Date objects. */
function asDates(doc: Record<string, unknown>, index: FieldIndex): Record<string, unknown> {
  return Object.fromEntries(Object.entries(doc).map(([key, value]) => [key, dateValue(value, index.get(key))]));
}

function dateValue(value: unknown, schema: FieldSchema | undefined): unknown {
  if (!schema || value === null || value === undefined) return value;
  if (schema.type === 'date' && typeof value === 'string') {
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? value : date;
  }
  if (schema.type === 'array' && Array.isArray(value)) return value.map((item) => dateValue(item, schema.items));
  if (schema.type === 'object' && isPlainObject(value) && schema.properties?.size) {
    const properties = schema.properties;
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, dateValue(inner, properties.get(key))]));
  }
  return value;
}

/** Dates written as ISO text, as the answer's JSON would write them. */
function fromDates(value: unknown): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Array.isArray(value)) return value.map(fromDates);
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, fromDates(inner)]));
}
