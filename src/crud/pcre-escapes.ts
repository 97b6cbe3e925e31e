/**
 * Escapes as PCRE2 10.42 reads them, in a class and out of one: what each stands for, with the
 * cursor past it. References (`\1`, `\g`, `\k`) are read in pcre-references.ts.
 */

import { knownProperty, LETTER_ESCAPES } from './pcre-names.js';
import { escapeG, groupName, reference } from './pcre-references.js';
import { type Item, type Node, type ParseState, Problem } from './pcre-state.js';

/** What an escape stands for: a character, a class of them, an assertion, `\R` or `\X`, `\C`, `\K`. */
type EscapeKind = 'char' | 'class' | 'zero' | 'var' | 'C' | 'K';

export function escapeOutside(s: ParseState): Item | Node[] | 'skip' {
  const rest = s.p.slice(s.i);
  const letter = rest[1];
  if (letter === undefined) throw new Problem('\\ at end of pattern');
  if (letter === 'Q') return quoted(s);
  if (letter === 'E') {
    s.i += 2;
    return 'skip';
  }
  if (/[1-9]/.test(letter)) {
    const digits = /^\d+/.exec(rest.slice(1))![0];
    const number = Number(digits);
    if (number < 10 || letter === '8' || letter === '9' || number <= s.captures) {
      s.i += 1 + digits.length;
      return reference(s, { number }, false);
    }
    s.i += 1 + /^[0-7]{1,3}/.exec(rest.slice(1))![0].length;
    return { node: { t: 'char' }, repeatable: true };
  }
  if (letter === 'g') return escapeG(s, rest);
  if (letter === 'k') {
    const match = /^\\k(?:<([^>]*)>|'([^']*)'|\{([^}]*)\})/.exec(rest);
    if (!match) throw new Problem('\\k is not followed by a braced, angle-bracketed, or quoted name');
    s.i += 3;
    groupName(s, rest[2] === '<' ? '>' : rest[2] === "'" ? "'" : '}');
    return reference(s, { name: match[1] ?? match[2] ?? match[3] }, false);
  }
  const kind = escapeCommon(s, rest, false);
  if (kind === 'class' || kind === 'char') return { node: { t: 'char' }, repeatable: true };
  if (kind === 'var') return { node: { t: 'var' }, repeatable: true };
  if (kind === 'C') return { node: { t: 'anyByte' }, repeatable: true };
  if (kind === 'K' && s.lookaround > 0) throw new Problem('\\K is not allowed in lookarounds');
  return { node: { t: 'zero' }, repeatable: false };
}

/** `\Q…\E`: each character a literal, to `\E` or the end. */
function quoted(s: ParseState): Node[] | 'skip' {
  const end = s.p.indexOf('\\E', s.i + 2);
  const text = s.p.slice(s.i + 2, end < 0 ? undefined : end);
  s.i = end < 0 ? s.p.length : end + 2;
  return text === '' ? 'skip' : [...text].map((): Node => ({ t: 'char' }));
}

/**
 * The escapes read the same way in and out of a class: what each stands for (a character, a
 * class, an assertion…) with the cursor past it. `\Q`, `\E`, digits, `\g`, `\k` are read by the callers.
 */
export function escapeCommon(s: ParseState, rest: string, inClass: boolean): EscapeKind {
  const letter = rest[1]!;
  if (!/[A-Za-z0-9]/.test(letter)) {
    s.i += 1 + (rest.codePointAt(1)! > 0xffff ? 2 : 1);
    return 'char';
  }
  const coded = codedEscape(s, rest, inClass);
  if (coded !== undefined) return coded;
  return inClass ? classLetter(s, rest) : letterEscape(s, letter);
}

/** The escapes that read more than their letter (`\0`, `\x`, `\o`, `\c`, `\p`, `\N`), and those PCRE2 refuses (`\u`…). */
function codedEscape(s: ParseState, rest: string, inClass: boolean): 'char' | 'class' | undefined {
  const letter = rest[1]!;
  switch (letter) {
    case '0':
      s.i += 1 + /^0[0-7]{0,2}/.exec(rest.slice(1))![0].length;
      return 'char';
    case 'x':
      hexEscape(s, rest);
      return 'char';
    case 'o':
      octalEscape(s, rest);
      return 'char';
    case 'c':
      controlEscape(s, rest);
      return 'char';
    case 'p':
    case 'P':
      property(s, rest);
      return 'class';
    case 'N':
      escapeN(s, rest, inClass);
      return 'char';
    case 'u':
    case 'U':
    case 'l':
    case 'L':
    case 'F':
      throw new Problem(`\\${letter} is not supported`);
    default:
      return undefined;
  }
}

/** `\xhh` (up to two digits) or `\x{h…}`. */
function hexEscape(s: ParseState, rest: string): void {
  if (rest[2] !== '{') {
    s.i += 2 + /^[0-9a-fA-F]{0,2}/.exec(rest.slice(2))![0].length;
    return;
  }
  const match = /^\\x\{([^}]*)(\}?)/.exec(rest)!;
  if (match[1] === '') throw new Problem('digits missing in \\x{}');
  if (!/^[0-9a-fA-F]+$/.test(match[1]!) || match[2] === '') throw new Problem('non-hex character in \\x{} (closing brace missing?)');
  codePoint(parseInt(match[1]!, 16));
  s.i += match[0].length;
}

/** `\o{o…}`, the only form of `\o`. */
function octalEscape(s: ParseState, rest: string): void {
  if (rest[2] !== '{') throw new Problem('missing opening brace after \\o');
  const match = /^\\o\{([^}]*)(\}?)/.exec(rest)!;
  if (match[1] === '') throw new Problem('digits missing in \\o{}');
  if (!/^[0-7]+$/.test(match[1]!) || match[2] === '') throw new Problem('non-octal character in \\o{} (closing brace missing?)');
  codePoint(parseInt(match[1]!, 8));
  s.i += match[0].length;
}

/** `\cx`: x a printable ASCII character. */
function controlEscape(s: ParseState, rest: string): void {
  const control = rest[2];
  if (control === undefined) throw new Problem('\\c at end of pattern');
  if (control.charCodeAt(0) < 32 || control.charCodeAt(0) > 126) throw new Problem('\\c must be followed by a printable ASCII character');
  s.i += 3;
}

/** `\N{U+hhhh}` is a character; `\N` alone (any character but a newline) is not taken in a class. */
function escapeN(s: ParseState, rest: string, inClass: boolean): void {
  if (rest[2] === '{' && !/^\{\d+(?:,\d*)?\}/.test(rest.slice(2))) {
    const match = /^\\N\{U\+([0-9a-fA-F]+)\}/.exec(rest);
    if (!match) throw new Problem('\\N{name} is not supported (write \\N{U+hhhh})');
    codePoint(parseInt(match[1]!, 16));
    s.i += match[0].length;
    return;
  }
  if (inClass) throw new Problem('\\N is not supported in a class');
  s.i += 2;
}

/** A letter or digit escape in a class. */
function classLetter(s: ParseState, rest: string): 'char' | 'class' {
  const letter = rest[1]!;
  if ('dDsSwWhHvV'.includes(letter)) {
    s.i += 2;
    return 'class';
  }
  if ('abefnrtg'.includes(letter)) {
    s.i += 2;
    return 'char';
  }
  if ('BRXKAzZGk'.includes(letter)) throw new Problem('escape sequence is invalid in character class');
  if (/[1-9]/.test(letter)) {
    // octal digits (`\12`), or `\8`, `\9`: the digit itself
    s.i += 1 + Math.max(/^[0-7]{0,3}/.exec(rest.slice(1))![0].length, 1);
    return 'char';
  }
  throw new Problem('unrecognized character follows \\');
}

/** A letter escape out of a class (`\d`, `\b`, `\R`…). */
function letterEscape(s: ParseState, letter: string): EscapeKind {
  if (!LETTER_ESCAPES.has(letter)) throw new Problem('unrecognized character follows \\');
  s.i += 2;
  if ('dDsSwWhHvV'.includes(letter)) return 'class';
  if ('aefnrt'.includes(letter)) return 'char';
  if (letter === 'R' || letter === 'X') return 'var';
  if (letter === 'C') return 'C';
  if (letter === 'K') return 'K';
  return 'zero'; // \b \B \A \z \Z \G
}

function codePoint(value: number): void {
  if (value > 0x10ffff) throw new Problem('character code point value in \\x{} or \\o{} is too large');
  if (value >= 0xd800 && value <= 0xdfff) throw new Problem('disallowed Unicode code point (>= 0xd800 && <= 0xdfff)');
}

/** `\p{…}`, `\pL`: a property PCRE2 10.42 knows, matched loosely (case, spaces, `-`, `_`). */
function property(s: ParseState, rest: string): void {
  let name: string;
  if (rest[2] === '{') {
    const end = rest.indexOf('}');
    if (end < 0) throw new Problem('malformed \\P or \\p sequence');
    name = rest.slice(3, end);
    s.i += end + 1;
  } else {
    if (rest[2] === undefined) throw new Problem('malformed \\P or \\p sequence');
    name = rest[2];
    s.i += 3;
  }
  if (!knownProperty(name)) throw new Problem('unknown property after \\P or \\p');
}
