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

import { measureLookbehinds } from './pcre-lengths.js';
import { knownProperty, LETTER_ESCAPES, POSIX_NAMES } from './pcre-names.js';
import { type Node, Problem } from './pcre-state.js';

interface Options {
  extended: boolean;
  extendedMore: boolean;
  noAutoCapture: boolean;
  dupNames: boolean;
}

const NEST_LIMIT = 250;
const MAX_REPEAT = 65_535;
const NAME_MAX = 32;
const MAX_PATTERN_BYTES = 32_764;

export function pcreProblem(pattern: string, extended: boolean): string | undefined {
  // MongoDB's own cap (kMaxPatternLength in src/mongo/util/pcre.cpp), read before PCRE2 compiles;
  // it also bounds the work done here.
  if (Buffer.byteLength(pattern) > MAX_PATTERN_BYTES) return `longer than MongoDB's ${MAX_PATTERN_BYTES} bytes`;
  try {
    new Parser(pattern, extended).parse();
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

class Parser {
  private i = 0;
  private captures = 0;
  private readonly names = new Map<string, number[]>();
  private readonly numberNames = new Map<number, string>();
  /** Each capture's group by number (more than one in a `(?|…)`), for lookbehind lengths. */
  private readonly groups = new Map<number, Node[]>();
  /** Whether the pattern has a `(?|…)`. */
  private branchReset = false;
  private readonly laterChecks: (() => void)[] = [];
  /** The captures open at the cursor. */
  private readonly open: number[] = [];
  private depth = 0;
  private lookaround = 0;
  private opts: Options;

  constructor(
    private readonly p: string,
    extended: boolean,
  ) {
    this.opts = { extended, extendedMore: false, noAutoCapture: false, dupNames: false };
  }

  parse(): void {
    while (START_OPTIONS.test(this.p.slice(this.i))) this.i += START_OPTIONS.exec(this.p.slice(this.i))![0].length;
    const top = this.alternation();
    if (this.i < this.p.length) throw new Problem('unmatched closing parenthesis');
    for (const check of this.laterChecks) check();
    measureLookbehinds(top, { names: this.names, groups: this.groups, branchReset: this.branchReset });
  }

  // ── structure ──────────────────────────────────────────────────────────────

  /** Branches up to a `)` (left unread) or the end. Option changes last to the group's end. */
  private alternation(onBranch?: () => void): Node[][] {
    const saved = { ...this.opts };
    const branches: Node[][] = [];
    for (;;) {
      onBranch?.();
      branches.push(this.branch());
      if (this.p[this.i] !== '|') break;
      this.i += 1;
    }
    this.opts = saved;
    return branches;
  }

  private branch(): Node[] {
    const items: Node[] = [];
    /** Whether the last item read can take a quantifier. */
    let repeatable = false;
    for (;;) {
      this.skipExtended();
      if (this.i >= this.p.length) return items;
      const char = this.p[this.i]!;
      if (char === '|' || char === ')') return items;
      const quantifier = this.quantifier();
      if (quantifier) {
        if (!repeatable) throw new Problem('quantifier does not follow a repeatable item');
        items.push({ t: 'repeat', node: items.pop()!, min: quantifier.min, max: quantifier.max });
        repeatable = false;
        continue;
      }
      const item = this.item();
      if (item === 'skip') continue; // a comment, `\E`, an empty `\Q\E`: the last item stays the last
      if (item === 'setting') {
        repeatable = false;
        continue;
      }
      if (Array.isArray(item)) {
        // \Q…\E: each character an item, the last one the one a quantifier takes
        items.push(...item);
        repeatable = item.length > 0 || repeatable;
        continue;
      }
      items.push(item.node);
      repeatable = item.repeatable;
    }
  }

  /** `*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}` with a lazy `?` or possessive `+`; a `{` that is none of them is a character. */
  private quantifier(): { min: number; max: number } | undefined {
    const rest = this.p.slice(this.i);
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
    this.i += length;
    // The lazy `?` or possessive `+` may follow past what PCRE2 skips (`a+\E?`, `a+(?#c)?`, `a+ ?` with x).
    this.skipIgnored();
    if (this.p[this.i] === '+' || this.p[this.i] === '?') this.i += 1;
    return { min, max };
  }

  /** What PCRE2 reads as nothing: extended-mode space and comments, `(?#…)`, `\E`, an empty `\Q\E`. */
  private skipIgnored(): void {
    for (;;) {
      this.skipExtended();
      const rest = this.p.slice(this.i);
      if (rest.startsWith('\\E')) this.i += 2;
      else if (rest.startsWith('\\Q\\E')) this.i += 4;
      else if (rest.startsWith('(?#')) {
        const end = this.p.indexOf(')', this.i);
        if (end < 0) throw new Problem('missing ) after (?# comment');
        this.i = end + 1;
      } else return;
    }
  }

  private skipExtended(): void {
    if (!this.opts.extended) return;
    for (;;) {
      const char = this.p[this.i];
      if (char !== undefined && /[ \t\n\v\f\r\u0085\u200e\u200f\u2028\u2029]/.test(char)) this.i += 1;
      else if (char === '#') {
        while (this.i < this.p.length && this.p[this.i] !== '\n') this.i += 1;
      } else return;
    }
  }

  private item(): { node: Node; repeatable: boolean } | Node[] | 'skip' | 'setting' {
    const char = this.p[this.i]!;
    if (char === '\\') return this.escapeOutside();
    if (char === '[') {
      this.characterClass();
      return { node: { t: 'char' }, repeatable: true };
    }
    if (char === '(') return this.group();
    this.i += char.codePointAt(0)! > 0xffff ? 2 : 1;
    if (char === '^' || char === '$') return { node: { t: 'zero' }, repeatable: false };
    return { node: { t: 'char' }, repeatable: true };
  }

  // ── groups ─────────────────────────────────────────────────────────────────

  private enter(): void {
    this.depth += 1;
    if (this.depth > NEST_LIMIT) throw new Problem('parentheses are too deeply nested');
  }

  private close(): void {
    if (this.p[this.i] !== ')') throw new Problem('missing closing parenthesis');
    this.i += 1;
    this.depth -= 1;
  }

  private group(): { node: Node; repeatable: boolean } | 'skip' | 'setting' {
    const rest = this.p.slice(this.i);
    if (rest.startsWith('(?#')) {
      const end = this.p.indexOf(')', this.i);
      if (end < 0) throw new Problem('missing ) after (?# comment');
      this.i = end + 1;
      return 'skip';
    }
    if (rest.startsWith('(*') && /^[A-Za-z_:]/.test(rest.slice(2))) return this.verb();
    if (!rest.startsWith('(?')) {
      this.i += 1;
      return { node: this.body(this.opts.noAutoCapture ? undefined : this.newCapture()), repeatable: true };
    }
    const after = rest.slice(2);
    const next = after[0];
    if (next === undefined) throw new Problem('missing closing parenthesis');
    const simple = /^(?::|\||>|=|!|\*|<=|<!|<\*)/.exec(after);
    if (simple) {
      this.i += 2 + simple[0].length;
      const kind = simple[0];
      if (kind === '|') return { node: this.resetGroup(), repeatable: true };
      const behind = kind.startsWith('<');
      const around = kind !== ':' && kind !== '>';
      return { node: this.body(undefined, around ? (behind ? 'behind' : 'ahead') : undefined), repeatable: true };
    }
    if (next === '<' || next === "'" || (next === 'P' && after[1] === '<')) {
      this.i += next === 'P' ? 4 : 3;
      const name = this.name(next === "'" ? "'" : '>');
      return { node: this.body(this.newCapture(name)), repeatable: true };
    }
    if (next === 'P') {
      if (after[1] === '=' || after[1] === '>') {
        this.i += 4;
        const name = this.name(')');
        this.i -= 1; // the `)` is the group's close
        return this.reference({ name, recursion: after[1] === '>' });
      }
      throw new Problem('unrecognized character after (?P');
    }
    if (next === '&') {
      this.i += 3;
      const name = this.name(')');
      this.i -= 1;
      return this.reference({ name, recursion: true });
    }
    if (next === 'R' && after[1] !== ')') throw new Problem('(?R must be followed by )');
    const call = /^(?:R|([+-]?)(\d+))\)/.exec(after);
    if (call) {
      this.i += 2 + call[0].length - 1;
      if (call[2] === undefined || Number(call[2]) === 0) {
        if (call[1]) throw new Problem('a relative reference must not be zero');
        return this.reference({ recursion: true, number: 0 });
      }
      return this.reference({ number: this.relative(call[1]!, Number(call[2])), recursion: true });
    }
    if (next === 'C') return this.callout();
    if (next === '(') return this.conditional();
    return this.optionSetting();
  }

  /** A group's body from after its opening to its `)`; a capture is numbered before its body. */
  private body(capture: number | undefined, around?: 'ahead' | 'behind'): Node {
    this.enter();
    if (around) this.lookaround += 1;
    if (capture !== undefined) this.open.push(capture);
    const branches = this.alternation();
    if (capture !== undefined) this.open.pop();
    if (around) this.lookaround -= 1;
    this.close();
    const node: Node = { t: 'group', branches, capture, lookaround: around };
    if (around === 'behind') node.enclosing = [...this.open];
    if (capture !== undefined) this.groups.set(capture, [...(this.groups.get(capture) ?? []), node]);
    return node;
  }

  /** `(?|…)`: each branch numbers its captures from the same number; the group ends past the most. */
  private resetGroup(): Node {
    this.branchReset = true;
    this.enter();
    const start = this.captures;
    let most = start;
    const branches = this.alternation(() => {
      most = Math.max(most, this.captures);
      this.captures = start;
    });
    this.captures = Math.max(most, this.captures);
    this.close();
    return { t: 'group', branches };
  }

  private newCapture(name?: string): number {
    this.captures += 1;
    const number = this.captures;
    if (name !== undefined) {
      // `(?|(?<n>a)|(?<m>b))`: one number, two names
      const named = this.numberNames.get(number);
      if (named !== undefined && named !== name) throw new Problem('different names for subpatterns of the same number are not allowed');
      this.numberNames.set(number, name);
      const numbers = this.names.get(name) ?? [];
      if (numbers.length > 0 && !numbers.includes(number) && !this.opts.dupNames) {
        throw new Problem('two named subpatterns have the same name');
      }
      this.names.set(name, [...numbers, number]);
    }
    return number;
  }

  /** A group name up to its terminator (read past it). */
  private name(terminator: string): string {
    const match = /^[\p{L}\p{Nd}_]*/u.exec(this.p.slice(this.i))![0];
    if (match === '') throw new Problem('subpattern name expected');
    if (/^\p{N}/u.test(match)) throw new Problem('subpattern name must start with a non-digit');
    if (Buffer.byteLength(match) > NAME_MAX) throw new Problem('subpattern name is too long (maximum 32 bytes)');
    this.i += match.length;
    if (this.p[this.i] !== terminator) throw new Problem('syntax error in subpattern name (missing terminator?)');
    this.i += 1;
    return match;
  }

  /** `-n` counts back from the captures opened so far, `+n` forward; a plain number is itself. */
  private relative(sign: string, value: number): number {
    if (sign === '-') {
      const number = this.captures - value + 1;
      if (number <= 0) throw new Problem('reference to non-existent subpattern');
      return number;
    }
    return sign === '+' ? this.captures + value : value;
  }

  /** A backreference or a subroutine call, closed by the `)` at the cursor when it is a group form. */
  private reference(ref: { number?: number; name?: string; recursion?: boolean }, grouped = true): { node: Node; repeatable: boolean } {
    if (grouped) {
      if (this.p[this.i] !== ')') throw new Problem('missing closing parenthesis');
      this.i += 1;
    }
    this.mustExist(ref);
    if (ref.recursion && ref.number === 0) return { node: { t: 'ref', recursion: true }, repeatable: true };
    return { node: { t: 'ref', ...ref }, repeatable: true };
  }

  private mustExist(ref: { number?: number; name?: string }): void {
    this.laterChecks.push(() => {
      if (ref.name !== undefined ? !this.names.has(ref.name) : ref.number! > this.captures || ref.number! < 0) {
        throw new Problem('reference to non-existent subpattern');
      }
    });
  }

  private verb(): { node: Node; repeatable: boolean } {
    const match = /^\(\*([A-Za-z_]*)(?::([^)]*))?\)/.exec(this.p.slice(this.i));
    const head = /^\(\*([A-Za-z_]*)(:?)/.exec(this.p.slice(this.i))!;
    const name = head[1]!;
    if (head[2] === ':' && name !== '' && !VERBS.has(name)) {
      // An alpha assertion: (*pla:…), (*atomic:…)…
      const lower = name.toLowerCase();
      this.i += head[0].length;
      if (LOOKAHEADS.has(lower)) return { node: this.body(undefined, 'ahead'), repeatable: true };
      if (LOOKBEHINDS.has(lower)) return { node: this.body(undefined, 'behind'), repeatable: true };
      if (OTHER_ALPHA.has(lower)) return { node: this.body(undefined), repeatable: true };
      throw new Problem('(*alpha_assertion) not recognized');
    }
    if (!match || !VERBS.has(name)) throw new Problem('(*VERB) not recognized or malformed');
    if ((name === 'MARK' || name === '') && !match[2]) throw new Problem('(*MARK) must have an argument');
    this.i += match[0].length;
    const stop = name === 'ACCEPT' || name === 'FAIL' || name === 'F';
    return { node: { t: stop ? 'stop' : 'zero' }, repeatable: name === 'ACCEPT' };
  }

  private callout(): 'setting' | { node: Node; repeatable: boolean } {
    const match = /^\(\?C(?:(\d*)|`[^`]*`|'[^']*'|"[^"]*"|\^[^^]*\^|%[^%]*%|#[^#]*#|\$[^$]*\$|\{[^}]*\})\)/.exec(this.p.slice(this.i));
    if (!match) throw new Problem('malformed callout (?C…)');
    if (match[1] && Number(match[1]) > 255) throw new Problem('number after (?C is greater than 255');
    this.i += match[0].length;
    return { node: { t: 'zero' }, repeatable: false };
  }

  /** `(?(condition)yes|no)`: at most two branches, one for DEFINE. */
  private conditional(): { node: Node; repeatable: boolean } {
    this.i += 3; // (?(
    this.enter();
    let define = false;
    let condition: Node | undefined;
    const rest = this.p.slice(this.i);
    if (rest[0] === '?' || rest[0] === '*') {
      this.i -= 1; // the assertion is a group of its own, from its `(`
      const assertion = /^\((?:\?(?:=|!|<=|<!|\*|<\*)|\*[A-Za-z_]+:)/.exec(this.p.slice(this.i));
      if (!assertion) throw new Problem('assertion expected after (?(');
      const item = this.group();
      if (typeof item === 'string' || !(item.node.t === 'group' && item.node.lookaround)) throw new Problem('assertion expected after (?(');
      condition = item.node;
    } else {
      const condition =
        /^(?:([+-]?)(\d+)|<([^>]*)>|'([^']*)'|R(\d+)|R&([^)]*)|R|DEFINE|VERSION[<>]?=\d+(?:\.\d+)?|([\p{L}\p{Nd}_]*))\)/u.exec(rest);
      if (!condition) throw new Problem('missing closing parenthesis for condition');
      const [text, sign, digits, angled, quoted, recursed, recursedName, bare] = condition;
      if (digits !== undefined) {
        if (Number(digits) === 0) throw new Problem('reference to non-existent subpattern');
        this.mustExist({ number: this.relative(sign!, Number(digits)) });
      } else if (recursed !== undefined) this.mustExist({ number: Number(recursed) });
      else {
        const name = angled ?? quoted ?? recursedName ?? bare;
        if (name !== undefined) {
          if (name === '') throw new Problem('subpattern name expected');
          this.mustExist({ name });
        }
      }
      define = text === 'DEFINE)';
      this.i += text.length;
    }
    const branches = this.alternation();
    if (branches.length > 2) throw new Problem('conditional subpattern contains more than two branches');
    if (define && branches.length > 1) throw new Problem('DEFINE subpattern contains more than one branch');
    this.close();
    return { node: define ? { t: 'define', branches } : { t: 'group', branches, condition }, repeatable: true };
  }

  /** `(?imnsxJU-imnsxJU)`, `(?^…)`, or the same with `:` opening a group. */
  private optionSetting(): { node: Node; repeatable: boolean } | 'setting' {
    this.i += 2;
    const set = { ...this.opts };
    let unset = false;
    let first = true;
    let extendedCount = 0;
    for (;;) {
      const char = this.p[this.i];
      if (char === undefined) throw new Problem('missing closing parenthesis');
      this.i += 1;
      if (char === ')' || char === ':') {
        if (extendedCount >= 2) set.extendedMore = !unset;
        if (char === ')') {
          this.opts = set;
          return 'setting';
        }
        const outer = this.opts;
        this.opts = set;
        const node = this.body(undefined);
        this.opts = outer;
        return { node, repeatable: true };
      }
      if (char === '^' && first) {
        Object.assign(set, { extended: false, extendedMore: false, noAutoCapture: false });
      } else if (char === '-' && !unset) {
        if (this.p[this.i - 2] === '^') throw new Problem('invalid hyphen in option setting');
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

  // ── escapes ────────────────────────────────────────────────────────────────

  private escapeOutside(): { node: Node; repeatable: boolean } | Node[] | 'skip' {
    const rest = this.p.slice(this.i);
    const letter = rest[1];
    if (letter === undefined) throw new Problem('\\ at end of pattern');
    if (letter === 'Q') return this.quoted();
    if (letter === 'E') {
      this.i += 2;
      return 'skip';
    }
    if (/[1-9]/.test(letter)) {
      const digits = /^\d+/.exec(rest.slice(1))![0];
      const number = Number(digits);
      if (number < 10 || letter === '8' || letter === '9' || number <= this.captures) {
        this.i += 1 + digits.length;
        return this.reference({ number }, false);
      }
      this.i += 1 + /^[0-7]{1,3}/.exec(rest.slice(1))![0].length;
      return { node: { t: 'char' }, repeatable: true };
    }
    if (letter === 'g') return this.escapeG(rest);
    if (letter === 'k') {
      const match = /^\\k(?:<([^>]*)>|'([^']*)'|\{([^}]*)\})/.exec(rest);
      if (!match) throw new Problem('\\k is not followed by a braced, angle-bracketed, or quoted name');
      this.i += 3;
      this.name(rest[2] === '<' ? '>' : rest[2] === "'" ? "'" : '}');
      return this.reference({ name: match[1] ?? match[2] ?? match[3] }, false);
    }
    const kind = this.escapeCommon(rest, false);
    if (kind === 'class' || kind === 'char') return { node: { t: 'char' }, repeatable: true };
    if (kind === 'var') return { node: { t: 'var' }, repeatable: true };
    if (kind === 'C') return { node: { t: 'anyByte' }, repeatable: true };
    if (kind === 'K' && this.lookaround > 0) throw new Problem('\\K is not allowed in lookarounds');
    return { node: { t: 'zero' }, repeatable: false };
  }

  private escapeG(rest: string): { node: Node; repeatable: boolean } {
    const braced = /^\\g\{(?:([+-]?)(\d+)|([^}]*))\}/.exec(rest);
    const plain = /^\\g([+-]?)(\d+)/.exec(rest);
    const call = /^\\g(?:<(?:([+-]?)(\d+)|([^>]*))>|'(?:([+-]?)(\d+)|([^']*))')/.exec(rest);
    if (call) {
      this.i += call[0].length;
      const [, sign, digits, name] =
        call[1] !== undefined || call[2] !== undefined || call[3] !== undefined ? call : [0, call[4], call[5], call[6]];
      if (digits !== undefined) {
        if (Number(digits) === 0) {
          if (sign) throw new Problem('a relative reference must not be zero');
          return { node: { t: 'ref', recursion: true }, repeatable: true };
        }
        return this.reference({ number: this.relative(sign as string, Number(digits)), recursion: true }, false);
      }
      this.checkName(name as string);
      return this.reference({ name: name as string, recursion: true }, false);
    }
    const numbered = braced && braced[2] !== undefined ? braced : plain;
    if (numbered) {
      this.i += numbered[0].length;
      const [, sign, digits] = numbered;
      if (Number(digits) === 0 || sign === '+') {
        if (sign === '+' && numbered === braced && Number(digits) > 0)
          return this.reference({ number: this.captures + Number(digits) }, false);
        throw new Problem('reference to non-existent subpattern');
      }
      return this.reference({ number: this.relative(sign!, Number(digits)) }, false);
    }
    if (braced) {
      this.i += braced[0].length;
      this.checkName(braced[3]!);
      return this.reference({ name: braced[3] }, false);
    }
    throw new Problem('\\g is not followed by a braced, angle-bracketed, or quoted name/number or by a plain number');
  }

  private checkName(name: string): void {
    if (name === '') throw new Problem('subpattern name expected');
    if (!/^[\p{L}_][\p{L}\p{Nd}_]*$/u.test(name)) throw new Problem('subpattern name must start with a non-digit');
    if (Buffer.byteLength(name) > NAME_MAX) throw new Problem('subpattern name is too long (maximum 32 bytes)');
  }

  /** `\Q…\E`: each character a literal, to `\E` or the end. */
  private quoted(): Node[] | 'skip' {
    const end = this.p.indexOf('\\E', this.i + 2);
    const text = this.p.slice(this.i + 2, end < 0 ? undefined : end);
    this.i = end < 0 ? this.p.length : end + 2;
    return text === '' ? 'skip' : [...text].map((): Node => ({ t: 'char' }));
  }

  /**
   * The escapes read the same way in and out of a class: what each stands for (a character, a
   * class, an assertion…) with the cursor past it. `\Q`, `\E`, digits, `\g`, `\k` are read by the callers.
   */
  private escapeCommon(rest: string, inClass: boolean): 'char' | 'class' | 'zero' | 'var' | 'C' | 'K' {
    const letter = rest[1]!;
    const advance = (count: number) => {
      this.i += count;
    };
    if (!/[A-Za-z0-9]/.test(letter)) {
      advance(1 + (letter.codePointAt(0)! > 0xffff ? 2 : 1));
      return 'char';
    }
    switch (letter) {
      case '0': {
        advance(1 + /^0[0-7]{0,2}/.exec(rest.slice(1))![0].length);
        return 'char';
      }
      case 'x': {
        if (rest[2] === '{') {
          const match = /^\\x\{([^}]*)(\}?)/.exec(rest)!;
          if (match[1] === '') throw new Problem('digits missing in \\x{}');
          if (!/^[0-9a-fA-F]+$/.test(match[1]!) || match[2] === '')
            throw new Problem('non-hex character in \\x{} (closing brace missing?)');
          this.codePoint(parseInt(match[1]!, 16));
          advance(match[0].length);
        } else advance(2 + /^[0-9a-fA-F]{0,2}/.exec(rest.slice(2))![0].length);
        return 'char';
      }
      case 'o': {
        if (rest[2] !== '{') throw new Problem('missing opening brace after \\o');
        const match = /^\\o\{([^}]*)(\}?)/.exec(rest)!;
        if (match[1] === '') throw new Problem('digits missing in \\o{}');
        if (!/^[0-7]+$/.test(match[1]!) || match[2] === '') throw new Problem('non-octal character in \\o{} (closing brace missing?)');
        this.codePoint(parseInt(match[1]!, 8));
        advance(match[0].length);
        return 'char';
      }
      case 'c': {
        const control = rest[2];
        if (control === undefined) throw new Problem('\\c at end of pattern');
        if (control.charCodeAt(0) < 32 || control.charCodeAt(0) > 126)
          throw new Problem('\\c must be followed by a printable ASCII character');
        advance(3);
        return 'char';
      }
      case 'p':
      case 'P': {
        this.property(rest);
        return 'class';
      }
      case 'N': {
        if (rest[2] === '{' && !/^\{\d+(?:,\d*)?\}/.test(rest.slice(2))) {
          const match = /^\\N\{U\+([0-9a-fA-F]+)\}/.exec(rest);
          if (!match) throw new Problem('\\N{name} is not supported (write \\N{U+hhhh})');
          this.codePoint(parseInt(match[1]!, 16));
          advance(match[0].length);
          return 'char';
        }
        if (inClass) throw new Problem('\\N is not supported in a class');
        advance(2);
        return 'char';
      }
      case 'u':
      case 'U':
      case 'l':
      case 'L':
      case 'F':
        throw new Problem(`\\${letter} is not supported`);
      default:
    }
    if (inClass) {
      if ('dDsSwWhHvV'.includes(letter)) {
        advance(2);
        return 'class';
      }
      if ('abefnrtg'.includes(letter)) {
        advance(2);
        return 'char';
      }
      if ('BRXKAzZGk'.includes(letter)) throw new Problem('escape sequence is invalid in character class');
      if (/[1-9]/.test(letter)) {
        advance(1 + /^[0-7]{0,3}/.exec(rest.slice(1))![0].length || 2);
        return 'char';
      }
      throw new Problem('unrecognized character follows \\');
    }
    if (!LETTER_ESCAPES.has(letter)) throw new Problem('unrecognized character follows \\');
    advance(2);
    if ('dDsSwWhHvV'.includes(letter)) return 'class';
    if ('aefnrt'.includes(letter)) return 'char';
    if (letter === 'R' || letter === 'X') return 'var';
    if (letter === 'C') return 'C';
    if (letter === 'K') return 'K';
    return 'zero'; // \b \B \A \z \Z \G
  }

  private codePoint(value: number): void {
    if (value > 0x10ffff) throw new Problem('character code point value in \\x{} or \\o{} is too large');
    if (value >= 0xd800 && value <= 0xdfff) throw new Problem('disallowed Unicode code point (>= 0xd800 && <= 0xdfff)');
  }

  /** `\p{…}`, `\pL`: a property PCRE2 10.42 knows, matched loosely (case, spaces, `-`, `_`). */
  private property(rest: string): void {
    let name: string;
    if (rest[2] === '{') {
      const end = rest.indexOf('}');
      if (end < 0) throw new Problem('malformed \\P or \\p sequence');
      name = rest.slice(3, end);
      this.i += end + 1;
    } else {
      if (rest[2] === undefined) throw new Problem('malformed \\P or \\p sequence');
      name = rest[2];
      this.i += 3;
    }
    if (!knownProperty(name)) throw new Problem('unknown property after \\P or \\p');
  }

  // ── classes ────────────────────────────────────────────────────────────────

  private characterClass(): void {
    if (/^[:.=]/.test(this.p.slice(this.i + 1)) && posixEnd(this.p, this.i + 1) !== undefined) {
      throw new Problem('POSIX named classes are supported only within a class');
    }
    this.i += 1;
    if (this.p[this.i] === '^') this.i += 1;
    let first = true;
    /** The last item: a character a range may start from (its code point when known), a class, or nothing. */
    let last: { value: number | undefined } | 'class' | undefined;
    let range = false;
    let quoting = false;
    const take = (kind: 'char' | 'class', value?: number) => {
      if (range) {
        if (kind === 'class' || last === 'class') throw new Problem('invalid range in character class');
        const start = last?.value;
        if (start !== undefined && value !== undefined && start > value) throw new Problem('range out of order in character class');
        range = false;
        last = undefined;
      } else last = kind === 'class' ? 'class' : { value };
      first = false;
    };
    for (;;) {
      if (this.i >= this.p.length) throw new Problem('missing terminating ] for character class');
      const rest = this.p.slice(this.i);
      if (quoting) {
        if (rest.startsWith('\\E')) {
          quoting = false;
          this.i += 2;
          continue;
        }
        this.i += rest.codePointAt(0)! > 0xffff ? 2 : 1;
        take('char', rest.codePointAt(0));
        continue;
      }
      const char = rest[0]!;
      if (this.opts.extendedMore && (char === ' ' || char === '\t')) {
        this.i += 1;
        continue;
      }
      if (char === ']' && !first) {
        if (range) last = undefined; // `a-]`: the hyphen is a character
        this.i += 1;
        return;
      }
      if (char === '-' && last !== undefined && !range && rest[1] !== ']' && !first) {
        if (last === 'class') {
          // `[\d-z]`: an error unless the hyphen ends the class
          throw new Problem('invalid range in character class');
        }
        range = true;
        this.i += 1;
        continue;
      }
      if (char === '[' && /^[:.=]/.test(rest.slice(1))) {
        const end = posixEnd(this.p, this.i + 1);
        if (end !== undefined) {
          if (rest[1] !== ':') throw new Problem('POSIX collating elements are not supported');
          const name = this.p.slice(this.i + 2, end).replace(/^\^/, '');
          if (!POSIX_NAMES.has(name)) throw new Problem('unknown POSIX class name');
          this.i = end + 2;
          take('class');
          continue;
        }
      }
      if (char === '\\') {
        const letter = rest[1];
        if (letter === undefined) throw new Problem('\\ at end of pattern');
        if (letter === 'Q') {
          quoting = true;
          this.i += 2;
          continue;
        }
        if (letter === 'E') {
          this.i += 2;
          continue;
        }
        const value = escapedCharacter(rest);
        take(this.escapeCommon(rest, true) === 'class' ? 'class' : 'char', value);
        continue;
      }
      this.i += rest.codePointAt(0)! > 0xffff ? 2 : 1;
      take('char', rest.codePointAt(0));
    }
  }
}

/** The code point an escape in a class stands for, when it is one character (undefined when unsure). */
function escapedCharacter(rest: string): number | undefined {
  const letter = rest[1]!;
  if (!/[A-Za-z0-9]/.test(letter)) return rest.codePointAt(1);
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
