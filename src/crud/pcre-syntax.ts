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
 *
 * This file reads the structure (branches, groups, conditionals). The parts: pcre-tokens.ts
 * (quantifiers, verbs, option letters, callouts), pcre-escapes.ts, pcre-classes.ts,
 * pcre-references.ts (captures, names, references), pcre-lengths.ts (lookbehind lengths, measured
 * once the pattern is read), pcre-names.ts (the names PCRE2 knows), pcre-state.ts (what they share).
 */

import { characterClass } from './pcre-classes.js';
import { escapeOutside } from './pcre-escapes.js';
import { measureLookbehinds } from './pcre-lengths.js';
import { assertCompiledSize } from './pcre-size.js';
import { callOrReference, groupName, newCapture, referenceCondition } from './pcre-references.js';
import { alphaAssertion, callout, comment, optionLetters, plainVerb, quantifier, skipExtended, skipStartOptions } from './pcre-tokens.js';
import { type Item, newParseState, type Node, type ParseState, Problem } from './pcre-state.js';

const NEST_LIMIT = 250;
const MAX_PATTERN_BYTES = 32_764;

export function pcreProblem(pattern: string, extended: boolean, caseless = true): string | undefined {
  // MongoDB's own cap (kMaxPatternLength in src/mongo/util/pcre.cpp), read before PCRE2 compiles;
  // it also bounds the work done here.
  if (Buffer.byteLength(pattern) > MAX_PATTERN_BYTES) return `longer than MongoDB's ${MAX_PATTERN_BYTES} bytes`;
  try {
    parse(newParseState(pattern, extended), caseless);
    return undefined;
  } catch (error) {
    if (error instanceof Problem) return error.message;
    throw error;
  }
}

function parse(s: ParseState, caseless: boolean): void {
  skipStartOptions(s);
  const top = alternation(s);
  if (s.i < s.p.length) throw new Problem('unmatched closing parenthesis');
  for (const check of s.laterChecks) check();
  measureLookbehinds(top, { names: s.names, groups: s.groups, branchReset: s.branchReset });
  // Sizes are read once the whole pattern is: an inline (?i) or (?J) may come after a class or a reference.
  const sizing = { caseless: caseless || /\(\?[\^a-zA-Z-]*i/.test(s.p), dupNames: /\(\?[\^a-zA-Z-]*J/.test(s.p) };
  assertCompiledSize(top, s.leafTexts, sizing);
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
    const start = s.i;
    const read = item(s);
    if (read === 'skip') continue; // a comment, `\E`, an empty `\Q\E`: the last item stays the last
    if (read === 'setting') {
      repeatable = false;
      continue;
    }
    if (Array.isArray(read)) {
      // \Q…\E: each character an item, the last one the one a quantifier takes
      const text = [...s.p.slice(start + 2, s.i)];
      read.forEach((node, index) => s.leafTexts.set(node, text[index]!));
      items.push(...read);
      repeatable = read.length > 0 || repeatable;
      continue;
    }
    if (read.node.t !== 'group' && read.node.t !== 'define') s.leafTexts.set(read.node, s.p.slice(start, s.i));
    items.push(read.node);
    repeatable = read.repeatable;
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
  s.i += s.p.codePointAt(s.i)! > 0xffff ? 2 : 1; // a character past the BMP is two UTF-16 units, one character
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
  if (comment(s)) return 'skip';
  const rest = s.p.slice(s.i);
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
  // a reference condition: OP_CREF and a number, OP_DNCREF with two for a duplicated name
  const node: Node = define ? { t: 'define', branches } : { t: 'group', branches, condition, extra: condition ? 0 : 5 };
  return { node, repeatable: true };
}

function verb(s: ParseState): Item {
  const assertion = alphaAssertion(s);
  if (assertion === undefined) return plainVerb(s);
  return { node: body(s, undefined, assertion === 'other' ? undefined : assertion), repeatable: true };
}

/** `(?imnsxJU-imnsxJU)`, `(?^…)`, or the same with `:` opening a group. */
function optionSetting(s: ParseState): Item | 'setting' {
  const { options, opensGroup } = optionLetters(s);
  if (!opensGroup) {
    s.opts = options;
    return 'setting';
  }
  const outer = s.opts;
  s.opts = options;
  const node = body(s, undefined);
  s.opts = outer;
  return { node, repeatable: true };
}
