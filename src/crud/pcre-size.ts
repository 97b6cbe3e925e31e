import { type Node, Problem } from './pcre-state.js';

/**
 * The compiled size of a pattern, as PCRE2 10.42 with 2-byte links (MongoDB's `LINK_SIZE 2`)
 * counts it: past 65,535 bytes of code it refuses the pattern, "regular expression is too large".
 * A repeated group is compiled once per repeat (`(a){6553}` is 65,537 bytes from 9 characters),
 * a repeated character or class once with its count (`[a-z]{65535}` is 45).
 *
 * The sizes are PCRE2's as pcre2test's `memory` shows them, taken as the upper end where PCRE2
 * varies or the judge does not compute it: a class with a character past U+00FF counts 9 bytes a
 * character of its text (more when caseless), a verb or callout its text, a repeated group as if
 * possessive. So every pattern PCRE2 finds too large is refused (none was sent in about 12,000
 * generated near the limit), and one it takes is refused only when it compiles to more than about
 * 41,000 bytes and holds such items (docs/decisions.md).
 */

const MAX_CODE = 65_535;
/** The whole pattern's bracket, its end and OP_END. */
const PATTERN = 7;
/** OP_BRA + link, OP_KET + link. */
const GROUP = 6;
/** A capture's number. */
const CAPTURE = 2;
/** OP_ALT + link, OP_REVERSE + link, OP_CREF + number, OP_RECURSE + link. */
const LINKED = 3;
/** A narrow class: OP_CLASS and its 32-byte map. */
const CLASS = 33;

interface Sizing {
  readonly texts: WeakMap<Node, string>;
  readonly caseless: boolean;
  readonly dupNames: boolean;
}

export function assertCompiledSize(top: Node[][], texts: WeakMap<Node, string>, pattern: { caseless: boolean; dupNames: boolean }): void {
  const size = PATTERN + branchesSize(top, { texts, ...pattern });
  if (size > MAX_CODE) throw new Problem('regular expression is too large once compiled');
}

function branchesSize(branches: Node[][], m: Sizing): number {
  let total = LINKED * (branches.length - 1);
  for (const branch of branches) for (const node of branch) total += nodeSize(node, m);
  return total;
}

function nodeSize(node: Node, m: Sizing): number {
  switch (node.t) {
    case 'group': {
      let size = GROUP + branchesSize(node.branches, m) + (node.extra ?? 0);
      if (node.capture !== undefined) size += CAPTURE;
      if (node.lookaround === 'behind') size += LINKED * node.branches.length;
      if (node.condition) size += nodeSize(node.condition, m);
      return size;
    }
    case 'define':
      return GROUP + LINKED + branchesSize(node.branches, m);
    case 'repeat':
      return repeatSize(node, m);
    default:
      return leafSize(m.texts.get(node), node, m);
  }
}

function repeatSize(repeat: Node & { t: 'repeat' }, m: Sizing): number {
  const { node, min, max } = repeat;
  const size = nodeSize(node, m);
  if (node.t === 'ref' && node.recursion) {
    // A call is copied for each repeat; the optional ones each in a group of their own.
    return min * size + (max === Infinity ? GROUP + 1 + size : (max - min) * (GROUP * 2 + 1 + size));
  }
  if (node.t !== 'group' && node.t !== 'define') {
    // One opcode with its counts: OP_CRRANGE after a class or a backreference; around a character
    // or a type OP_STAR, OP_PLUS or OP_QUERY, OP_EXACT for {n}, OP_EXACT and OP_UPTO (or OP_STAR) for the others.
    if (size >= CLASS || node.t === 'ref') return size + 5;
    if (min <= 1 && (max === Infinity || max === 1)) return size + 1;
    return min === max ? size + 3 : 2 * (size + 3);
  }
  // Possessive: the copies in an atomic group (+ GROUP). Each optional copy: OP_BRAZERO, and a group around the rest.
  if (max === 0) return size + 1;
  // An unbounded repeat ends on OP_KETRMAX; an assertion's is one more copy, optional.
  const unbounded = min === 0 || (node.t === 'group' && node.lookaround) ? size + 1 : 0;
  const optional = max === Infinity ? unbounded : (max - min) * (size + 1 + GROUP);
  return GROUP + min * size + optional;
}

/**
 * A leaf's size from its text in the pattern: a character, an escape, a class, a reference, a
 * verb or callout. `caseless` is whether `i` may be on (from `$options` or `(?i)`); `dupNames`
 * whether a name may name two groups (`(?J)`).
 */
function leafSize(text: string | undefined, node: Node, pattern: Sizing): number {
  if (text === undefined) return 5;
  if (node.t === 'ref') return node.name !== undefined && !node.recursion && pattern.dupNames ? 5 : LINKED;
  if (text.startsWith('[')) return classSize(text, pattern.caseless);
  // OP_CALLOUT and its number, offsets, OP_CALLOUT_STR and its text; a verb and its name
  if (/^\(\?C\d*\)$/.test(text)) return 6;
  if (text.startsWith('(?C')) return 6 + Buffer.byteLength(text);
  if (text.startsWith('(')) return LINKED + Buffer.byteLength(text);
  if (text.startsWith('\\')) return escapeSize(text);
  if (text === '.' || text === '^' || text === '$') return 1;
  // OP_CHAR and the character's UTF-8; caseless k and s match a third character (K, ſ): OP_PROP.
  return 1 + Math.max(Buffer.byteLength(text), pattern.caseless && /^[ksKS]$/.test(text) ? 2 : 1);
}

function classSize(text: string, caseless: boolean): number {
  // A class with a character past U+00FF (or that may hold one) is an OP_XCLASS: its map and a
  // list of the wide characters (up to 5 bytes), ranges (9) and properties (3); caseless, each
  // range adds its characters' other cases, up to 313 bytes for one range (pcre2test on 6,000
  // random ranges).
  // A caseless class of ASCII letters may hold k or s, whose other cases K (U+212A) and ſ are wide.
  if (!/[^\x00-\x7f]|\\[pPhHvV]|\\[xo]\{|\\N\{/.test(text)) return caseless && /[a-zA-Z]/.test(text) ? CLASS + 24 : CLASS;
  const characters = [...text].length;
  return CLASS + 4 + 9 * characters + (caseless ? 400 * (1 + text.split('-').length) : 0);
}

function escapeSize(text: string): number {
  if (/^\\[dDwWsShHvVRXNbBAzZGKC]$/.test(text)) return 1; // a type or an assertion: its opcode
  if (/^\\[pP]/.test(text)) return 3;
  // a character: OP_CHAR and its UTF-8, up to two bytes below U+0100 (\xhh, \ooo, \cx, \n…)
  if (/^\\(?:x[0-9a-fA-F]{0,2}|[0-7]{1,3}|c.)$/.test(text) || Buffer.byteLength(text) <= 2) return 3;
  const coded = /^\\(?:x\{([0-9a-fA-F]+)\}|o\{([0-7]+)\})$/.exec(text);
  if (coded) return 1 + Buffer.byteLength(String.fromCodePoint(coded[1] ? parseInt(coded[1], 16) : parseInt(coded[2]!, 8)));
  return 5;
}
