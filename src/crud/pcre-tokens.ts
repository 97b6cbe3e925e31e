/**
 * The items PCRE2 10.42 reads in one piece, holding no sub-pattern of their own: quantifiers, what
 * it reads as nothing (extended-mode space, comments, `\E`), option letters, verbs, callouts, and
 * the options that may open a pattern.
 */

import { type Item, type Options, type ParseState, Problem } from './pcre-state.js';

const MAX_REPEAT = 65_535;

/** What may open a pattern only: `(*UTF)`, `(*LIMIT_MATCH=10)`… */
const START_OPTIONS =
  /^\(\*(?:UTF8?|UCP|NOTEMPTY|NOTEMPTY_ATSTART|NO_AUTO_POSSESS|NO_DOTSTAR_ANCHOR|NO_JIT|NO_START_OPT|CR|LF|CRLF|ANYCRLF|ANY|NUL|BSR_ANYCRLF|BSR_UNICODE|LIMIT_(?:HEAP|MATCH|DEPTH|RECURSION)=\d+)\)/;
const VERBS = new Set(['ACCEPT', 'FAIL', 'F', 'COMMIT', 'PRUNE', 'SKIP', 'THEN', 'MARK', '']);
const LOOKAHEADS = new Set(['pla', 'positive_lookahead', 'nla', 'negative_lookahead', 'napla', 'non_atomic_positive_lookahead']);
const LOOKBEHINDS = new Set(['plb', 'positive_lookbehind', 'nlb', 'negative_lookbehind', 'naplb', 'non_atomic_positive_lookbehind']);
const OTHER_ALPHA = new Set(['atomic', 'sr', 'script_run', 'asr', 'atomic_script_run']);

/** `(*UTF)`, `(*LIMIT_MATCH=10)`… at the start of the pattern. */
export function skipStartOptions(s: ParseState): void {
  while (START_OPTIONS.test(s.p.slice(s.i))) s.i += START_OPTIONS.exec(s.p.slice(s.i))![0].length;
}

/** `*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}` with a lazy `?` or possessive `+`; a `{` that is none of them is a character. */
export function quantifier(s: ParseState): { min: number; max: number } | undefined {
  const rest = s.p.slice(s.i);
  let min: number;
  let max: number;
  let length: number;
  const brace = /^\{(\d+)(?:(,)(\d*))?\}/.exec(rest);
  if (rest[0] === '*' || rest[0] === '+' || rest[0] === '?') {
    [min, max, length] = rest[0] === '*' ? [0, Infinity, 1] : rest[0] === '+' ? [1, Infinity, 1] : [0, 1, 1];
  } else if (brace) {
    min = Number(brace[1]);
    max = brace[2] === undefined ? min : brace[3] === '' ? Infinity : Number(brace[3]);
    if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT)) throw new Problem('number too big in {} quantifier');
    if (max < min) throw new Problem('numbers out of order in {} quantifier');
    length = brace[0].length;
  } else return undefined;
  s.i += length;
  // The lazy `?` or possessive `+` may follow past what PCRE2 skips (`a+\E?`, `a+(?#c)?`, `a+ ?` with x).
  skipIgnored(s);
  if (s.p[s.i] === '+' || s.p[s.i] === '?') s.i += 1;
  return { min, max };
}

/** What PCRE2 reads as nothing: extended-mode space and comments, `(?#…)`, `\E`, an empty `\Q\E`. */
function skipIgnored(s: ParseState): void {
  for (;;) {
    skipExtended(s);
    const rest = s.p.slice(s.i);
    if (rest.startsWith('\\E')) s.i += 2;
    else if (rest.startsWith('\\Q\\E')) s.i += 4;
    else if (!comment(s)) return;
  }
}

/** A `(?#…)` comment at the cursor, read past its `)`: whether there was one. */
export function comment(s: ParseState): boolean {
  if (!s.p.startsWith('(?#', s.i)) return false;
  const end = s.p.indexOf(')', s.i);
  if (end < 0) throw new Problem('missing ) after (?# comment');
  s.i = end + 1;
  return true;
}

export function skipExtended(s: ParseState): void {
  if (!s.opts.extended) return;
  for (;;) {
    const char = s.p[s.i];
    if (char !== undefined && /[ \t\n\v\f\r\u0085\u200e\u200f\u2028\u2029]/.test(char)) s.i += 1;
    else if (char === '#') {
      while (s.i < s.p.length && s.p[s.i] !== '\n') s.i += 1;
    } else return;
  }
}

/** `(*pla:`, `(*atomic:`…, read past its `:`: the kind of group it opens; undefined when the `(*` is a verb. */
export function alphaAssertion(s: ParseState): 'ahead' | 'behind' | 'other' | undefined {
  const head = /^\(\*([A-Za-z_]*)(:?)/.exec(s.p.slice(s.i))!;
  const name = head[1]!;
  if (head[2] !== ':' || name === '' || VERBS.has(name)) return undefined;
  s.i += head[0].length;
  // PCRE2 knows these names in lower case only: `(*PLA:a)` is an error
  if (LOOKAHEADS.has(name)) return 'ahead';
  if (LOOKBEHINDS.has(name)) return 'behind';
  if (OTHER_ALPHA.has(name)) return 'other';
  throw new Problem('(*alpha_assertion) not recognized');
}

/** A backtracking verb: `(*ACCEPT)`, `(*MARK:x)`, `(*:x)`… */
export function plainVerb(s: ParseState): Item {
  const match = /^\(\*([A-Za-z_]*)(?::([^)]*))?\)/.exec(s.p.slice(s.i));
  const name = /^\(\*([A-Za-z_]*)/.exec(s.p.slice(s.i))![1]!;
  if (!match || !VERBS.has(name)) throw new Problem('(*VERB) not recognized or malformed');
  if ((name === 'MARK' || name === '') && !match[2]) throw new Problem('(*MARK) must have an argument');
  s.i += match[0].length;
  const stop = name === 'ACCEPT' || name === 'FAIL' || name === 'F';
  return { node: { t: stop ? 'stop' : 'zero' }, repeatable: name === 'ACCEPT' };
}

export function callout(s: ParseState): Item {
  const match = /^\(\?C(?:(\d*)|`[^`]*`|'[^']*'|"[^"]*"|\^[^^]*\^|%[^%]*%|#[^#]*#|\$[^$]*\$|\{[^}]*\})\)/.exec(s.p.slice(s.i));
  if (!match) throw new Problem('malformed callout (?C…)');
  if (match[1] && Number(match[1]) > 255) throw new Problem('number after (?C is greater than 255');
  s.i += match[0].length;
  return { node: { t: 'zero' }, repeatable: false };
}

/** The options of Options an option letter changes (`xx`, two adjacent x, is `extendedMore`). */
type Flag = 'extended' | 'extendedMore' | 'noAutoCapture' | 'dupNames';

/**
 * The letters of `(?imnsxJU-imnsxJU)` or `(?^…)`, read past the `)` or `:` that ends them: the
 * options they set, and whether a group opens (`:`). As PCRE2 does: the letters before a `-` set,
 * those after unset, then an `x` set without `xx`, or an `x` unset, turns `xx` off.
 */
export function optionLetters(s: ParseState): { options: Options; opensGroup: boolean } {
  s.i += 2;
  const options = { ...s.opts };
  const set = new Set<Flag>();
  const unset = new Set<Flag>();
  let target = set;
  let hyphenAllowed = true;
  if (s.p[s.i] === '^') {
    Object.assign(options, { extended: false, extendedMore: false, noAutoCapture: false });
    hyphenAllowed = false;
    s.i += 1;
  }
  for (;;) {
    const char = s.p[s.i];
    if (char === undefined) throw new Problem('missing closing parenthesis');
    s.i += 1;
    if (char === ')' || char === ':') break;
    if (char === '-') {
      if (!hyphenAllowed) throw new Problem('invalid hyphen in option setting');
      target = unset;
      hyphenAllowed = false;
    } else if (char === 'x') {
      target.add('extended');
      if (s.p[s.i] === 'x') {
        target.add('extendedMore');
        s.i += 1;
      }
    } else if (char === 'n') target.add('noAutoCapture');
    else if (char === 'J') target.add('dupNames');
    else if (!'imsU'.includes(char)) throw new Problem('unrecognized character after (? or (?-');
  }
  if ((set.has('extended') && !set.has('extendedMore')) || unset.has('extended')) unset.add('extendedMore');
  for (const flag of set) options[flag] = true;
  for (const flag of unset) options[flag] = false;
  return { options, opensGroup: s.p[s.i - 1] === ':' };
}
