/** What the parts of the PCRE2 syntax check (pcre-syntax.ts) share: the tree they build, and their error. */

/** An item of a branch, as much of it as lookbehind lengths and references need. */
export type Node =
  | { t: 'char' } // one character, a class, `.`, `\d`…
  | { t: 'zero' } // an assertion, a lookaround, a verb: no length
  | { t: 'var' } // \R, \X: no fixed length
  | { t: 'stop' } // (*ACCEPT), (*FAIL): PCRE2 measures a lookbehind's branch no further
  | { t: 'anyByte' } // \C: no lookbehind may hold it in UTF mode
  | { t: 'group'; branches: Node[][]; capture?: number; lookaround?: 'ahead' | 'behind'; enclosing?: number[]; condition?: Node }
  | { t: 'define'; branches: Node[][] } // (?(DEFINE)…): no length, and PCRE2 measures nothing in it from a lookbehind
  | { t: 'repeat'; node: Node; min: number; max: number }
  | { t: 'ref'; number?: number; name?: string; recursion?: boolean };

/** A compile error, in this module's words. */
export class Problem extends Error {}
