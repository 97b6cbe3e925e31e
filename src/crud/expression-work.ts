import { InvalidInputError } from '../errors.js';
import { isPlainObject } from './filter.js';

/**
 * The work of a `_rawp` expression past what its shape bounds (raw-expressions.ts): what each
 * `$filter`/`$map` item, `$regexMatch` and `$dateToString` costs depends on the values they take,
 * so they charge one budget per answer as they go, in units of about a nanosecond of mingo on
 * this service's machines (measured: docs/decisions.md, "CRUD fidelity, round five"); past it, the
 * answer is a 400. Evaluation is synchronous: one answer is evaluated at a time.
 */

/** Per answer, about 50 ms of evaluation at worst. */
export const EVALUATION_BUDGET = 50_000_000;
/**
 * The most characters (about) the documents an expression builds may hold, per answer: more than
 * the reads WORK_BUDGET allows could copy; the items of a `$map` repeated in its body could build
 * far more from references alone (an answer of hundreds of megabytes, or V8's longest string).
 */
export const ANSWER_BUDGET = 8_000_000;

let spent = 0;
/** What the answer has paid for once (a pattern compiled). */
const paid = new Set<string>();

/** Starts the count of an answer's evaluation. */
export function startEvaluation(): void {
  spent = 0;
  paid.clear();
}

/** Charges work done once per answer whatever the times it is asked (RE2 keeps what it compiled). */
export function chargeOnce(key: string, units: number): void {
  if (paid.has(key)) return;
  paid.add(key);
  chargeWork(units);
}

/** What is left of the answer's budget. */
export function workLeft(): number {
  return EVALUATION_BUDGET - spent;
}

/** Charges the answer being evaluated; a 400 past the budget (the work is refused before it is done). */
export function chargeWork(units: number): void {
  spent += units;
  if (spent > EVALUATION_BUDGET) throw tooMuchWork();
}

export const tooMuchWork = () => {
  const problem = 'asks too much work of the embedded store over these users: ask fewer (_l) or a simpler projection';
  return new InvalidInputError(`querystring/_rawp ${problem}`, [{ path: ['querystring', '_rawp'], message: problem }]);
};

/**
 * What a value weighs for the work of going through it: its characters, and VALUE_WEIGHT for each
 * value (mingo's paths and comparisons cost per value far more than per character), each reference
 * counted where it stands; counted only up to past `cap`, so that its own work stays below what it
 * charges.
 */
export function weightOf(value: unknown, cap: number, perValue = VALUE_WEIGHT): number {
  let weight = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0 && weight <= cap) {
    const next = pending.pop();
    weight += perValue;
    if (typeof next === 'string') weight += next.length;
    else if (Array.isArray(next)) {
      if (weight + next.length <= cap) for (const item of next) pending.push(item);
      else weight += next.length * perValue;
    } else if (isPlainObject(next)) {
      for (const [key, inner] of Object.entries(next)) {
        weight += key.length;
        pending.push(inner);
      }
    }
  }
  return weight;
}

/** A value's weight beside its characters (measured: `$$this.a.b` through arrays of documents, deep `$eq`). */
const VALUE_WEIGHT = 64;

/** Refuses (a 400) documents built by an expression past ANSWER_BUDGET, before they are copied or written. */
export function assertAnswerSize(docs: readonly unknown[]): void {
  if (weightOf(docs, ANSWER_BUDGET, 3) > ANSWER_BUDGET) throw tooMuchWork();
}
