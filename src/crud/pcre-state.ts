/**
 * What the parts of the PCRE2 syntax check (pcre-syntax.ts) share: the state of a parse, the tree
 * it builds, and its error.
 */

/** An item of a branch, as much of it as lookbehind lengths and references need. */
export type Node =
  | { t: 'char' } // one character, a class, `.`, `\d`…
  | { t: 'zero' } // an assertion, a lookaround, a verb: no length
  | { t: 'var' } // \R, \X: no fixed length
  | { t: 'stop' } // (*ACCEPT), (*FAIL): PCRE2 measures a lookbehind's branch no further
  | { t: 'anyByte' } // \C: no lookbehind may hold it in UTF mode
  | {
      t: 'group';
      branches: Node[][];
      capture?: number;
      lookaround?: 'ahead' | 'behind';
      enclosing?: number[];
      condition?: Node;
      /** Compiled bytes beyond the branches (a reference condition). */
      extra?: number;
    }
  | { t: 'define'; branches: Node[][] } // (?(DEFINE)…): no length, and PCRE2 measures nothing in it from a lookbehind
  | { t: 'repeat'; node: Node; min: number; max: number }
  | { t: 'ref'; number?: number; name?: string; recursion?: boolean };

/** What reading one item of a branch gives: its node, and whether a quantifier may follow it. */
export interface Item {
  node: Node;
  repeatable: boolean;
}

/** A compile error, in this module's words. */
export class Problem extends Error {}

/** The options in force where the cursor is (`x`, `xx`, `n`, `J` change how a pattern reads). */
export interface Options {
  extended: boolean;
  extendedMore: boolean;
  noAutoCapture: boolean;
  dupNames: boolean;
}

/** The parse so far: the cursor, the captures and names met, the options in force. */
export interface ParseState {
  readonly p: string;
  i: number;
  captures: number;
  readonly names: Map<string, number[]>;
  readonly numberNames: Map<number, string>;
  /** Each capture's group by number (more than one in a `(?|…)`), for lookbehind lengths. */
  readonly groups: Map<number, Node[]>;
  /** Whether the pattern has a `(?|…)`. */
  branchReset: boolean;
  readonly laterChecks: (() => void)[];
  /** The captures open at the cursor. */
  readonly open: number[];
  depth: number;
  lookaround: number;
  opts: Options;
  /** Each leaf's text, which its compiled size is read from (pcre-size.ts). */
  readonly leafTexts: WeakMap<Node, string>;
}

export function newParseState(p: string, extended: boolean): ParseState {
  return {
    p,
    i: 0,
    captures: 0,
    names: new Map(),
    numberNames: new Map(),
    groups: new Map(),
    branchReset: false,
    laterChecks: [],
    open: [],
    depth: 0,
    lookaround: 0,
    opts: { extended, extendedMore: false, noAutoCapture: false, dupNames: false },
    leafTexts: new WeakMap(),
  };
}
