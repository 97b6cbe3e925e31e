import { type Node, Problem } from './pcre-state.js';

/**
 * Lookbehind lengths as PCRE2 10.42 measures them, once the pattern is read: each top-level
 * branch of a lookbehind must have one length, at most 65,535 characters.
 */

const MAX_LOOKBEHIND = 65_535;

/** What the parse found that lengths need: names and groups by number, and whether there is a `(?|`. */
export interface Tree {
  readonly names: ReadonlyMap<string, number[]>;
  /** Each capture's group by number (more than one in a `(?|…)`). */
  readonly groups: ReadonlyMap<number, Node[]>;
  readonly branchReset: boolean;
}

interface Measure extends Tree {
  readonly sharedLengths: Map<number, number | undefined>;
  groupLengths: Map<number, number | undefined>;
  measuring: Set<number>;
  readonly measured: WeakSet<Node>;
}

export function measureLookbehinds(top: Node[][], tree: Tree): void {
  const sharedLengths = new Map<number, number | undefined>();
  scan({ ...tree, sharedLengths, groupLengths: sharedLengths, measuring: new Set(), measured: new WeakSet() }, top);
}

/**
 * Measures each lookbehind PCRE2's scan of these branches meets: all of them, but not those
 * inside another lookbehind, which are measured when that one's measure reaches them (not in a
 * DEFINE, not past an (*ACCEPT) or (*FAIL)).
 */
function scan(m: Measure, branches: Node[][]): void {
  const visit = (node: Node): void => {
    if (node.t === 'group' && node.lookaround === 'behind') measureLookbehind(m, node);
    else if (node.t === 'group' || node.t === 'define') {
      if (node.t === 'group' && node.condition) visit(node.condition);
      scan(m, node.branches);
    } else if (node.t === 'repeat') visit(node.node);
  };
  for (const branch of branches) branch.forEach(visit);
}

function measureLookbehind(m: Measure, node: Node & { t: 'group' }): void {
  if (m.measured.has(node)) return;
  m.measured.add(node);
  const saved = { measuring: m.measuring, groupLengths: m.groupLengths };
  // A call from inside a lookbehind to a group around it is a recursion: no length. Lengths
  // measured so are kept apart from the others.
  const enclosing = node.enclosing ?? [];
  m.measuring = new Set(enclosing);
  m.groupLengths = enclosing.length > 0 ? new Map() : m.sharedLengths;
  for (const branch of node.branches) {
    const length = branchLength(m, branch);
    if (length === undefined) throw new Problem('lookbehind assertion is not fixed length');
    if (length > MAX_LOOKBEHIND) throw new Problem('lookbehind assertion is too long');
  }
  m.measuring = saved.measuring;
  m.groupLengths = saved.groupLengths;
}

function branchLength(m: Measure, branch: Node[]): number | undefined {
  let total = 0;
  for (const node of branch) {
    if (node.t === 'stop') return total;
    const length = nodeLength(m, node);
    if (length === undefined) return undefined;
    total += length;
  }
  return total;
}

function nodeLength(m: Measure, node: Node): number | undefined {
  switch (node.t) {
    case 'char':
      return 1;
    case 'zero':
    case 'stop':
    case 'define':
      return 0;
    case 'anyByte':
      throw new Problem('\\C is not allowed in a lookbehind assertion in UTF-8 mode');
    case 'var':
      return undefined;
    case 'repeat': {
      // A repeated lookahead is the lookahead (PCRE2 reads `{n,m}` on one as at most once); a
      // repeated lookbehind is measured as any other group.
      if (node.node.t === 'group' && node.node.lookaround === 'ahead') return nodeLength(m, node.node);
      if (node.min !== node.max) return undefined;
      const length = nodeLength(m, node.node);
      return length === undefined ? undefined : length * node.min;
    }
    case 'group': {
      if (node.lookaround === 'behind') measureLookbehind(m, node);
      if (node.lookaround === 'ahead') scan(m, node.branches);
      if (node.lookaround) return 0;
      if (node.condition) nodeLength(m, node.condition); // an assertion: no length, but measured
      return sameLength(node.branches.map((branch) => branchLength(m, branch)));
    }
    case 'ref':
      return referenceLength(m, node);
  }
}

function referenceLength(m: Measure, node: Node & { t: 'ref' }): number | undefined {
  if (node.recursion && node.number === undefined && node.name === undefined) return undefined;
  const numbers = node.name !== undefined ? (m.names.get(node.name) ?? []) : [node.number!];
  // A backreference has a length only to one group, in a pattern without `(?|` (PCRE2's rule).
  if (!node.recursion && (m.branchReset || numbers.length > 1)) return undefined;
  return sameLength(numbers.map((number) => groupLength(m, number)));
}

/** A capture's length, each number measured once (a group calling itself has none). */
function groupLength(m: Measure, number: number): number | undefined {
  if (m.groupLengths.has(number)) return m.groupLengths.get(number);
  if (m.measuring.has(number)) return undefined;
  m.measuring.add(number);
  const length = sameLength((m.groups.get(number) ?? []).map((group) => nodeLength(m, group)));
  m.measuring.delete(number);
  m.groupLengths.set(number, length);
  return length;
}

/** The one length all of these have, if they have one. */
function sameLength(lengths: (number | undefined)[]): number | undefined {
  if (lengths.length === 0 || lengths.some((length) => length === undefined)) return undefined;
  return lengths.every((length) => length === lengths[0]) ? lengths[0] : undefined;
}
