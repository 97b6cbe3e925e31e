/**
 * Whether PCRE2 compiles a pattern as MongoDB compiles a `$regex`: the PCRE2 MongoDB vendors
 * (10.40, 10.42 in its newest tree; the rules here are 10.42's), UTF mode, a parentheses nesting
 * limit of 250, patterns up to 32,764 bytes, `x` from `$options` (`i`, `m`, `s` change no syntax;
 * docs/decisions.md says where each comes from). Only compile errors are judged: the pattern is
 * read as PCRE2's parser reads it, and the first error found is returned in this module's words.
 * The rules were checked against pcre2test 10.42 (test/unit/regex-syntax.test.ts holds the cases).
 *
 * Where a rule here is unsure it takes the pattern: a refused query a user wrote and MongoDB runs
 * is worse than the 500 MongoDB would answer.
 */

import { characterClass } from './pcre-classes.js';
import { escapeOutside } from './pcre-escapes.js';
import { measureLookbehinds } from './pcre-lengths.js';
import { callOrReference, groupName, newCapture, referenceCondition } from './pcre-references.js';
import { type Item, newParseState, type Node, type ParseState, Problem } from './pcre-state.js';

const NEST_LIMIT = 250;
const MAX_REPEAT = 65_535;
const MAX_PATTERN_BYTES = 32_764;

export function pcreProblem(pattern: string, extended: boolean): string | undefined {
  // MongoDB's own cap (kMaxPatternLength in src/mongo/util/pcre.cpp), read before PCRE2 compiles;
  // it also bounds the work done here.
  if (Buffer.byteLength(pattern) > MAX_PATTERN_BYTES) return `longer than MongoDB's ${MAX_PATTERN_BYTES} bytes`;
  try {
    parse(newParseState(pattern, extended));
    return undefined;
  } catch (error) {
    if (error instanceof Problem) return error.message;
    throw error;
  }
}

/** What may open a pattern only: `(*UTF)`, `(*LIMIT_MATCH=10)`… */
const START_OPTIONS =
  /^\(\*(?:UTF8?|UCP|NOTEMPTY|NOTEMPTY_ATSTART|NO_AUTO_POSSESS|NO_DOTSTAR_ANCHOR|NO_JIT|NO_START_OPT|CR|LF|CRLF|ANYCRLF|ANY|NUL|BSR_ANYCRLF|BSR_UNICODE|LIMIT_(?:HEAP|MATCH|DEPTH|RECURSION)=\d+)\)/;
const VERBS = new Set(['ACCEPT', 'FAIL', 'F', 'COMMIT', 'PRUNE', 'SKIP', 'THEN', 'MARK', '']);
const LOOKAHEADS = new Set(['pla', 'positive_lookahead', 'nla', 'negative_lookahead', 'napla', 'non_atomic_positive_lookahead']);
const LOOKBEHINDS = new Set(['plb', 'positive_lookbehind', 'nlb', 'negative_lookbehind', 'naplb', 'non_atomic_positive_lookbehind']);
const OTHER_ALPHA = new Set(['atomic', 'sr', 'script_run', 'asr', 'atomic_script_run']);

function parse(s: ParseState): void {
  while (START_OPTIONS.test(s.p.slice(s.i))) s.i += START_OPTIONS.exec(s.p.slice(s.i))![0].length;
  const top = alternation(s);
  if (s.i < s.p.length) throw new Problem('unmatched closing parenthesis');
  for (const check of s.laterChecks) check();
  measureLookbehinds(top, { names: s.names, groups: s.groups, branchReset: s.branchReset });
}

// ── structure ──────────────────────────────────────────────────────────────

/** Branches up to a `)` (left unread) or the end. Option changes last to the group's end. */
function alternation(s: ParseState, onBranch?: () => void): Node[][] {
  const saved = { ...s.opts };
  const branches: Node[][] = [];
  for (;;) {
    onBranch?.();
    branches.push(branch(s));
    if (s.p[s.i] !== '|') break;
    s.i += 1;
  }
  s.opts = saved;
  return branches;
}

function branch(s: ParseState): Node[] {
  const items: Node[] = [];
  /** Whether the last item read can take a quantifier. */
  let repeatable = false;
  for (;;) {
    skipExtended(s);
    if (s.i >= s.p.length) return items;
    const char = s.p[s.i]!;
    if (char === '|' || char === ')') return items;
    const repeat = quantifier(s);
    if (repeat) {
      if (!repeatable) throw new Problem('quantifier does not follow a repeatable item');
      items.push({ t: 'repeat', node: items.pop()!, min: repeat.min, max: repeat.max });
      repeatable = false;
      continue;
    }
    const read = item(s);
    if (read === 'skip') continue; // a comment, `\E`, an empty `\Q\E`: the last item stays the last
    if (read === 'setting') {
      repeatable = false;
      continue;
    }
    if (Array.isArray(read)) {
      // \Q…\E: each character an item, the last one the one a quantifier takes
      items.push(...read);
      repeatable = read.length > 0 || repeatable;
      continue;
    }
    items.push(read.node);
    repeatable = read.repeatable;
  }
}

/** `*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}` with a lazy `?` or possessive `+`; a `{` that is none of them is a character. */
function quantifier(s: ParseState): { min: number; max: number } | undefined {
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
    else if (rest.startsWith('(?#')) {
      const end = s.p.indexOf(')', s.i);
      if (end < 0) throw new Problem('missing ) after (?# comment');
      s.i = end + 1;
    } else return;
  }
}

function skipExtended(s: ParseState): void {
  if (!s.opts.extended) return;
  for (;;) {
    const char = s.p[s.i];
    if (char !== undefined && /[ \t\n\v\f\r\u0085\u200e\u200f\u2028\u2029]/.test(char)) s.i += 1;
    else if (char === '#') {
      while (s.i < s.p.length && s.p[s.i] !== '\n') s.i += 1;
    } else return;
  }
}

function item(s: ParseState): Item | Node[] | 'skip' | 'setting' {
  const char = s.p[s.i]!;
  if (char === '\\') return escapeOutside(s);
  if (char === '[') {
    characterClass(s);
    return { node: { t: 'char' }, repeatable: true };
  }
  if (char === '(') return group(s);
  s.i += char.codePointAt(0)! > 0xffff ? 2 : 1;
  if (char === '^' || char === '$') return { node: { t: 'zero' }, repeatable: false };
  return { node: { t: 'char' }, repeatable: true };
}

// ── groups ─────────────────────────────────────────────────────────────────

function enter(s: ParseState): void {
  s.depth += 1;
  if (s.depth > NEST_LIMIT) throw new Problem('parentheses are too deeply nested');
}

function close(s: ParseState): void {
  if (s.p[s.i] !== ')') throw new Problem('missing closing parenthesis');
  s.i += 1;
  s.depth -= 1;
}

function group(s: ParseState): Item | 'skip' | 'setting' {
  const rest = s.p.slice(s.i);
  if (rest.startsWith('(?#')) {
    const end = s.p.indexOf(')', s.i);
    if (end < 0) throw new Problem('missing ) after (?# comment');
    s.i = end + 1;
    return 'skip';
  }
  if (rest.startsWith('(*') && /^[A-Za-z_:]/.test(rest.slice(2))) return verb(s);
  if (!rest.startsWith('(?')) {
    s.i += 1;
    return { node: body(s, s.opts.noAutoCapture ? undefined : newCapture(s)), repeatable: true };
  }
  const after = rest.slice(2);
  const next = after[0];
  if (next === undefined) throw new Problem('missing closing parenthesis');
  const simple = /^(?::|\||>|=|!|\*|<=|<!|<\*)/.exec(after);
  if (simple) {
    s.i += 2 + simple[0].length;
    const kind = simple[0];
    if (kind === '|') return { node: resetGroup(s), repeatable: true };
    const behind = kind.startsWith('<');
    const around = kind !== ':' && kind !== '>';
    return { node: body(s, undefined, around ? (behind ? 'behind' : 'ahead') : undefined), repeatable: true };
  }
  if (next === '<' || next === "'" || (next === 'P' && after[1] === '<')) {
    s.i += next === 'P' ? 4 : 3;
    const name = groupName(s, next === "'" ? "'" : '>');
    return { node: body(s, newCapture(s, name)), repeatable: true };
  }
  const called = callOrReference(s, after);
  if (called) return called;
  if (next === 'C') return callout(s);
  if (next === '(') return conditional(s);
  return optionSetting(s);
}

/** A group's body from after its opening to its `)`; a capture is numbered before its body. */
function body(s: ParseState, capture: number | undefined, around?: 'ahead' | 'behind'): Node {
  enter(s);
  if (around) s.lookaround += 1;
  if (capture !== undefined) s.open.push(capture);
  const branches = alternation(s);
  if (capture !== undefined) s.open.pop();
  if (around) s.lookaround -= 1;
  close(s);
  const node: Node = { t: 'group', branches, capture, lookaround: around };
  if (around === 'behind') node.enclosing = [...s.open];
  if (capture !== undefined) s.groups.set(capture, [...(s.groups.get(capture) ?? []), node]);
  return node;
}

/** `(?|…)`: each branch numbers its captures from the same number; the group ends past the most. */
function resetGroup(s: ParseState): Node {
  s.branchReset = true;
  enter(s);
  const start = s.captures;
  let most = start;
  const branches = alternation(s, () => {
    most = Math.max(most, s.captures);
    s.captures = start;
  });
  s.captures = Math.max(most, s.captures);
  close(s);
  return { t: 'group', branches };
}

function verb(s: ParseState): Item {
  const match = /^\(\*([A-Za-z_]*)(?::([^)]*))?\)/.exec(s.p.slice(s.i));
  const head = /^\(\*([A-Za-z_]*)(:?)/.exec(s.p.slice(s.i))!;
  const name = head[1]!;
  if (head[2] === ':' && name !== '' && !VERBS.has(name)) {
    // An alpha assertion: (*pla:…), (*atomic:…)…
    const lower = name.toLowerCase();
    s.i += head[0].length;
    if (LOOKAHEADS.has(lower)) return { node: body(s, undefined, 'ahead'), repeatable: true };
    if (LOOKBEHINDS.has(lower)) return { node: body(s, undefined, 'behind'), repeatable: true };
    if (OTHER_ALPHA.has(lower)) return { node: body(s, undefined), repeatable: true };
    throw new Problem('(*alpha_assertion) not recognized');
  }
  if (!match || !VERBS.has(name)) throw new Problem('(*VERB) not recognized or malformed');
  if ((name === 'MARK' || name === '') && !match[2]) throw new Problem('(*MARK) must have an argument');
  s.i += match[0].length;
  const stop = name === 'ACCEPT' || name === 'FAIL' || name === 'F';
  return { node: { t: stop ? 'stop' : 'zero' }, repeatable: name === 'ACCEPT' };
}

function callout(s: ParseState): 'setting' | Item {
  const match = /^\(\?C(?:(\d*)|`[^`]*`|'[^']*'|"[^"]*"|\^[^^]*\^|%[^%]*%|#[^#]*#|\$[^$]*\$|\{[^}]*\})\)/.exec(s.p.slice(s.i));
  if (!match) throw new Problem('malformed callout (?C…)');
  if (match[1] && Number(match[1]) > 255) throw new Problem('number after (?C is greater than 255');
  s.i += match[0].length;
  return { node: { t: 'zero' }, repeatable: false };
}

/** `(?(condition)yes|no)`: at most two branches, one for DEFINE. */
function conditional(s: ParseState): Item {
  s.i += 3; // (?(
  enter(s);
  let define = false;
  let condition: Node | undefined;
  const rest = s.p.slice(s.i);
  if (rest[0] === '?' || rest[0] === '*') {
    s.i -= 1; // the assertion is a group of its own, from its `(`
    const assertion = /^\((?:\?(?:=|!|<=|<!|\*|<\*)|\*[A-Za-z_]+:)/.exec(s.p.slice(s.i));
    if (!assertion) throw new Problem('assertion expected after (?(');
    const item = group(s);
    if (typeof item === 'string' || !(item.node.t === 'group' && item.node.lookaround)) throw new Problem('assertion expected after (?(');
    condition = item.node;
  } else {
    define = referenceCondition(s, rest);
  }
  const branches = alternation(s);
  if (branches.length > 2) throw new Problem('conditional subpattern contains more than two branches');
  if (define && branches.length > 1) throw new Problem('DEFINE subpattern contains more than one branch');
  close(s);
  return { node: define ? { t: 'define', branches } : { t: 'group', branches, condition }, repeatable: true };
}

/** `(?imnsxJU-imnsxJU)`, `(?^…)`, or the same with `:` opening a group. */
function optionSetting(s: ParseState): Item | 'setting' {
  s.i += 2;
  const set = { ...s.opts };
  let unset = false;
  let first = true;
  let extendedCount = 0;
  for (;;) {
    const char = s.p[s.i];
    if (char === undefined) throw new Problem('missing closing parenthesis');
    s.i += 1;
    if (char === ')' || char === ':') {
      if (extendedCount >= 2) set.extendedMore = !unset;
      if (char === ')') {
        s.opts = set;
        return 'setting';
      }
      const outer = s.opts;
      s.opts = set;
      const node = body(s, undefined);
      s.opts = outer;
      return { node, repeatable: true };
    }
    if (char === '^' && first) {
      Object.assign(set, { extended: false, extendedMore: false, noAutoCapture: false });
    } else if (char === '-' && !unset) {
      if (s.p[s.i - 2] === '^') throw new Problem('invalid hyphen in option setting');
      unset = true;
    } else if (char === 'x') {
      extendedCount += 1;
      set.extended = !unset;
      if (unset) set.extendedMore = false;
    } else if (char === 'n') set.noAutoCapture = !unset;
    else if (char === 'J') set.dupNames = !unset;
    else if (!'imsU'.includes(char)) throw new Problem('unrecognized character after (? or (?-');
    first = false;
  }
}
