/** Character classes as PCRE2 10.42 reads them: `[…]`, POSIX classes in them, ranges and their order. */

import { escapeCommon } from './pcre-escapes.js';
import { POSIX_NAMES } from './pcre-names.js';
import { type ParseState, Problem } from './pcre-state.js';

/** A class being read: its last item, whether a `-` made a range, whether in `\Q…\E`. */
interface ClassState {
  first: boolean;
  /** The last item when it is a character a range may start from (its code point when known). */
  last: { value: number | undefined } | undefined;
  range: boolean;
  quoting: boolean;
}

export function characterClass(s: ParseState): void {
  if (/^[:.=]/.test(s.p.slice(s.i + 1)) && posixEnd(s.p, s.i + 1) !== undefined) {
    throw new Problem('POSIX named classes are supported only within a class');
  }
  s.i += 1;
  if (s.p[s.i] === '^') s.i += 1;
  const c: ClassState = { first: true, last: undefined, range: false, quoting: false };
  for (;;) {
    if (s.i >= s.p.length) throw new Problem('missing terminating ] for character class');
    const rest = s.p.slice(s.i);
    const char = rest[0]!;
    if (c.quoting) quotedCharacter(s, c, rest);
    else if (s.opts.extendedMore && (char === ' ' || char === '\t')) s.i += 1;
    else if (char === ']' && !c.first) {
      s.i += 1; // after `a-`, the `-` was a character
      return;
    } else if (!(hyphen(s, c, rest) || posixClass(s, c, rest) || classEscape(s, c, rest))) {
      s.i += rest.codePointAt(0)! > 0xffff ? 2 : 1;
      take(c, 'char', rest.codePointAt(0));
    }
  }
}

function take(c: ClassState, kind: 'char' | 'class', value?: number): void {
  if (c.range) {
    if (kind === 'class') throw new Problem('invalid range in character class');
    const start = c.last?.value;
    if (start !== undefined && value !== undefined && start > value) throw new Problem('range out of order in character class');
    c.range = false;
    c.last = undefined;
  } else c.last = kind === 'class' ? undefined : { value };
  c.first = false;
}

/**
 * After a class item (`[:alpha:]`, `\d`): a `-` right after it is an error unless it ends the
 * class (`[\d-z]`); one further on (past `\E`, `\Q\E`, or a space with xx) is a character.
 */
function afterClass(s: ParseState): void {
  if (s.p[s.i] === '-' && s.i + 1 < s.p.length && s.p[s.i + 1] !== ']') throw new Problem('invalid range in character class');
}

/** A character of a `\Q…\E` in a class, or its `\E`. */
function quotedCharacter(s: ParseState, c: ClassState, rest: string): void {
  if (rest.startsWith('\\E')) {
    c.quoting = false;
    s.i += 2;
    return;
  }
  s.i += rest.codePointAt(0)! > 0xffff ? 2 : 1;
  take(c, 'char', rest.codePointAt(0));
}

/** A `-` after a character starts a range unless it ends the class. */
function hyphen(s: ParseState, c: ClassState, rest: string): boolean {
  if (rest[0] !== '-' || c.last === undefined || c.range || rest[1] === ']' || c.first) return false;
  c.range = true;
  s.i += 1;
  return true;
}

/** `[:name:]` (or `[:^name:]`) in a class; `[.x.]` and `[=x=]` are refused. */
function posixClass(s: ParseState, c: ClassState, rest: string): boolean {
  if (rest[0] !== '[' || !/^[:.=]/.test(rest.slice(1))) return false;
  const end = posixEnd(s.p, s.i + 1);
  if (end === undefined) return false;
  if (rest[1] !== ':') throw new Problem('POSIX collating elements are not supported');
  const name = s.p.slice(s.i + 2, end).replace(/^\^/, '');
  if (!POSIX_NAMES.has(name)) throw new Problem('unknown POSIX class name');
  s.i = end + 2;
  take(c, 'class');
  afterClass(s);
  return true;
}

/** An escape in a class: `\Q` and `\E` switch quoting, the others are a character or a class. */
function classEscape(s: ParseState, c: ClassState, rest: string): boolean {
  if (rest[0] !== '\\') return false;
  const letter = rest[1];
  if (letter === undefined) throw new Problem('\\ at end of pattern');
  if (letter === 'Q' || letter === 'E') {
    c.quoting = letter === 'Q';
    s.i += 2;
    return true;
  }
  const value = escapedCharacter(rest);
  const kind = escapeCommon(s, rest, true) === 'class' ? 'class' : 'char';
  take(c, kind, value);
  if (kind === 'class') afterClass(s);
  return true;
}

/** The code point an escape in a class stands for, when it is one character (undefined when unsure). */
function escapedCharacter(rest: string): number | undefined {
  const letter = rest[1]!;
  if (!/[A-Za-z0-9]/.test(letter)) return rest.codePointAt(1);
  if (letter === 'g' || letter === '8' || letter === '9') return letter.charCodeAt(0); // in a class, the letter itself
  const simple: Record<string, number> = { a: 7, b: 8, e: 27, f: 12, n: 10, r: 13, t: 9 };
  if (Object.hasOwn(simple, letter)) return simple[letter];
  let match: RegExpExecArray | null;
  if ((match = /^\\x\{([0-9a-fA-F]+)\}/.exec(rest)) || (match = /^\\N\{U\+([0-9a-fA-F]+)\}/.exec(rest))) return parseInt(match[1]!, 16);
  if ((match = /^\\x([0-9a-fA-F]{0,2})/.exec(rest))) return match[1] === '' ? 0 : parseInt(match[1]!, 16);
  if ((match = /^\\o\{([0-7]+)\}/.exec(rest)) || (match = /^\\([0-7]{1,3})/.exec(rest))) return parseInt(match[1]!, 8);
  if (letter === 'c' && rest[2] !== undefined) return rest[2].toUpperCase().charCodeAt(0) ^ 0x40;
  return undefined;
}

/** Where a POSIX class `[:name:]` (or `[.x.]`, `[=x=]`) that starts at `start` (its `:`) ends, as PCRE2 looks for it. */
function posixEnd(pattern: string, start: number): number | undefined {
  const terminator = pattern[start];
  for (let i = start + 1; pattern.length - i >= 2; i += 1) {
    if (pattern[i] === '\\' && (pattern[i + 1] === ']' || pattern[i + 1] === '\\')) i += 1;
    else if ((pattern[i] === '[' && pattern[i + 1] === terminator) || pattern[i] === ']') return undefined;
    else if (pattern[i] === terminator && pattern[i + 1] === ']') return i;
  }
  return undefined;
}
