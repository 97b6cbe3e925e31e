import { InvalidInputError } from '../errors.js';
import { pcreProblem } from './pcre-syntax.js';

/**
 * Whether a `$regex` is a regular expression at all, judged before a filter goes anywhere, in
 * both modes. MongoDB compiles each pattern with PCRE2 when the query runs and fails the query when
 * it cannot (the CRUD's 500, "Regular expression is invalid: …"), which the service passed on as
 * its own 500; the embedded store refused the same pattern with a 400.
 *
 * The rule is PCRE2's own syntax as MongoDB compiles it (pcre-syntax.ts: 10.42, UTF mode, `x`
 * from `$options`), so a pattern MongoDB runs is sent and one it refuses is a 400 in both modes.
 * A pattern PCRE2 takes and RE2 does not (lookaround, backreferences, atomic groups…) is left to
 * the store that runs it: MongoDB runs it, the embedded store refuses it as unsupported
 * (regex.ts). Only syntax is judged here; the embedded store's own limits (length, program size)
 * stay its own.
 */

/** Patterns (with `x` or not) already found valid: a filter is often sent again as it was. */
const valid = new Set<string>();
const CACHE_SIZE = 200;

export function assertRegexSyntax(given: unknown, options: unknown, where: readonly string[]): void {
  // An array or a number is MongoDB's error too ("$regex has to be a string"): the CRUD's 500.
  if (typeof given !== 'string') throw refuse(where, '$regex must be a string');
  if (given.includes('\0')) throw refuse(where, '$regex must not contain a NUL character');
  // `x` (extended: spaces and `#` comments ignored) changes how the text reads; `i`, `m`, `s` and
  // `u` change no syntax. The embedded store refuses `x` on its own (regex.ts); $options' letters
  // are judged by filter.ts.
  const extended = typeof options === 'string' && options.includes('x');
  // `i` changes no syntax but the compiled size of some characters and classes (pcre-size.ts).
  const caseless = typeof options === 'string' && options.includes('i');
  const key = `${extended ? 'x' : ''}${caseless ? 'i' : ''}/${given}`;
  if (valid.has(key)) return;
  const problem = pcreProblem(given, extended, caseless);
  if (problem !== undefined) throw refuse(where, `$regex is not a valid regular expression (${problem})`);
  if (valid.size >= CACHE_SIZE) valid.delete(valid.values().next().value!);
  valid.add(key);
}

function refuse(where: readonly string[], problem: string): InvalidInputError {
  return new InvalidInputError(`${where.join('/')} ${problem}`, [{ path: [...where, '$regex'], message: problem }]);
}
