import { RE2JS } from 're2js';
import { InvalidInputError } from '../errors.js';

/**
 * Whether a `$regex` is a regular expression at all, judged before a filter goes anywhere, in
 * both modes. MongoDB compiles each pattern with PCRE when the query runs and fails the query when
 * it cannot (the CRUD's 500, "Regular expression is invalid: …"), which the service passed on as
 * its own 500; the embedded store refused the same pattern with a 400.
 *
 * The rule is the embedded store's engine (RE2, as regex.ts compiles it), with one allowance: a
 * pattern RE2 refuses that JavaScript's RegExp takes uses a feature RE2 lacks and PCRE has
 * (lookaround, backreferences), so it is left to the store that runs it (MongoDB runs it; the
 * embedded store refuses it as unsupported). A pattern both engines refuse is no regex: a 400.
 * Only syntax is judged here; the embedded store's own limits (length, program size) stay its own.
 */

/** MongoDB's flags as RE2 and JavaScript read them; `u` changes nothing, `x` (below) is not judged. */
const RE2_FLAGS: Record<string, number> = { i: RE2JS.CASE_INSENSITIVE, m: RE2JS.MULTILINE, s: RE2JS.DOTALL, u: 0 };

/** Patterns (with their flags) already found valid: a filter is often sent again as it was. */
const valid = new Set<string>();
const CACHE_SIZE = 200;

export function assertRegexSyntax(given: unknown, options: unknown, where: readonly string[]): void {
  // An array or a number is MongoDB's error too ("$regex has to be a string"): the CRUD's 500.
  if (typeof given !== 'string') throw refuse(where, '$regex must be a string');
  if (given.includes('\0')) throw refuse(where, '$regex must not contain a NUL character');
  // `x` (extended: spaces and `#` comments ignored) changes what the text means, and neither engine
  // here reads it: the pattern is judged as PCRE reads it, without them. The embedded store refuses
  // `x` on its own (regex.ts). $options' letters are judged by filter.ts.
  const pattern = typeof options === 'string' && options.includes('x') ? withoutExtendedSpace(given) : given;
  const flags = typeof options === 'string' ? [...options].filter((flag) => Object.hasOwn(RE2_FLAGS, flag)).join('') : '';
  const key = `${flags}/${pattern}`;
  if (valid.has(key)) return;
  const problem = re2Problem(pattern, flags);
  if (problem !== undefined && !pcreMayTake(pattern, flags.replace('u', ''))) {
    throw refuse(where, `$regex is not a valid regular expression (${problem})`);
  }
  if (valid.size >= CACHE_SIZE) valid.delete(valid.values().next().value!);
  valid.add(key);
}

/**
 * The pattern as PCRE's extended mode reads it: whitespace and `#` comments (to the line's end)
 * outside a character class dropped, escapes (`\ `, `\#`) and classes kept as written.
 */
function withoutExtendedSpace(pattern: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern[i]!;
    if (char === '\\') {
      out += pattern.slice(i, i + 2);
      i += 1;
    } else if (inClass) {
      if (char === ']') inClass = false;
      out += char;
    } else if (char === '[') {
      // A `]` first in a class (after `^`) is a character of it, not its end.
      const opening = /^\[\^?\]?/.exec(pattern.slice(i))![0];
      out += opening;
      i += opening.length - 1;
      inClass = true;
    } else if (char === '#') {
      while (i + 1 < pattern.length && pattern[i + 1] !== '\n') i += 1;
    } else if (!EXTENDED_SPACE.test(char)) out += char;
  }
  return out;
}

/** PCRE's white space in extended mode. */
const EXTENDED_SPACE = /^[ \t\n\v\f\r]$/;

function re2Problem(pattern: string, flags: string): string | undefined {
  try {
    RE2JS.compile(
      pattern,
      [...flags].reduce((all, flag) => all | RE2_FLAGS[flag]!, 0),
    );
    return undefined;
  } catch (error) {
    return String((error as Error).message).replace(/^error parsing regexp: /, '');
  }
}

/**
 * The allowance for what RE2 lacks and PCRE has (lookaround, backreferences): JavaScript's strict
 * (`u`) syntax, less what it takes and PCRE refuses. Its lax web syntax took `\2` with no group 2,
 * `\k<x>`, `\p{Foo}`, a trailing `\c` as plain text, each a PCRE error (MongoDB's 500); the strict
 * one still takes `\u0041` (PCRE: "does not support \u") and repeat counts over PCRE's 65,535.
 * An escaped punctuation mark (`\-`, `\@`), plain text to PCRE, is one the strict syntax refuses:
 * it is judged as the same character written `\xHH`.
 */
function pcreMayTake(pattern: string, flags: string): boolean {
  let unicodeEscape = false;
  const strict = pattern.replace(/\\([\s\S])/g, (escape, char: string) => {
    if (char === 'u') unicodeEscape = true;
    return PUNCTUATION.test(char) ? `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}` : escape;
  });
  if (unicodeEscape) return false;
  for (const [, min, max] of strict.matchAll(REPEAT)) if (Number(min) > PCRE_MAX_REPEAT || Number(max ?? 0) > PCRE_MAX_REPEAT) return false;
  return compilesInJavaScript(strict, `${flags}u`);
}

const PUNCTUATION = /^[!-/:-@[-`{-~]$/;
/** `{n}`, `{n,}`, `{n,m}`: escaped braces are `\x7b` by then. */
const REPEAT = /\{(\d+)(?:,(\d*))?\}/g;
const PCRE_MAX_REPEAT = 65_535;

/** Compiled only, never run: compiling is linear in the pattern's length. */
function compilesInJavaScript(pattern: string, flags: string): boolean {
  try {
    new RegExp(pattern, flags);
    return true;
  } catch {
    return false;
  }
}

function refuse(where: readonly string[], problem: string): InvalidInputError {
  return new InvalidInputError(`${where.join('/')} ${problem}`, [{ path: [...where, '$regex'], message: problem }]);
}
