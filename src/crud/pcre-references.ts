/**
 * Captures, their names and the references to them, as PCRE2 10.42 reads them: a reference to a
 * group that does not exist is refused once the whole pattern is read.
 */

import { type Item, type ParseState, Problem } from './pcre-state.js';

const NAME_MAX = 32;

export function newCapture(s: ParseState, name?: string): number {
  s.captures += 1;
  const number = s.captures;
  if (name !== undefined) {
    // `(?|(?<n>a)|(?<m>b))`: one number, two names
    const named = s.numberNames.get(number);
    if (named !== undefined && named !== name) throw new Problem('different names for subpatterns of the same number are not allowed');
    s.numberNames.set(number, name);
    const numbers = s.names.get(name) ?? [];
    if (numbers.length > 0 && !numbers.includes(number) && !s.opts.dupNames) {
      throw new Problem('two named subpatterns have the same name');
    }
    s.names.set(name, [...numbers, number]);
  }
  return number;
}

/** A group name up to its terminator (read past it). */
export function groupName(s: ParseState, terminator: string): string {
  const match = /^[\p{L}\p{Nd}_]*/u.exec(s.p.slice(s.i))![0];
  if (match === '') throw new Problem('subpattern name expected');
  if (/^\p{N}/u.test(match)) throw new Problem('subpattern name must start with a non-digit');
  if (Buffer.byteLength(match) > NAME_MAX) throw new Problem('subpattern name is too long (maximum 32 bytes)');
  s.i += match.length;
  if (s.p[s.i] !== terminator) throw new Problem('syntax error in subpattern name (missing terminator?)');
  s.i += 1;
  return match;
}

/** `-n` counts back from the captures opened so far, `+n` forward; a plain number is itself. */
export function relative(s: ParseState, sign: string, value: number): number {
  if (sign === '-') {
    const number = s.captures - value + 1;
    if (number <= 0) throw new Problem('reference to non-existent subpattern');
    return number;
  }
  return sign === '+' ? s.captures + value : value;
}

/** A backreference or a subroutine call, closed by the `)` at the cursor when it is a group form. */
export function reference(s: ParseState, ref: { number?: number; name?: string; recursion?: boolean }, grouped = true): Item {
  if (grouped) {
    if (s.p[s.i] !== ')') throw new Problem('missing closing parenthesis');
    s.i += 1;
  }
  mustExist(s, ref);
  if (ref.recursion && ref.number === 0) return { node: { t: 'ref', recursion: true }, repeatable: true };
  return { node: { t: 'ref', ...ref }, repeatable: true };
}

export function mustExist(s: ParseState, ref: { number?: number; name?: string }): void {
  s.laterChecks.push(() => {
    if (ref.name !== undefined ? !s.names.has(ref.name) : ref.number! > s.captures || ref.number! < 0) {
      throw new Problem('reference to non-existent subpattern');
    }
  });
}

export function escapeG(s: ParseState, rest: string): Item {
  const braced = /^\\g\{(?:([+-]?)(\d+)|([^}]*))\}/.exec(rest);
  const plain = /^\\g([+-]?)(\d+)/.exec(rest);
  const call = /^\\g(?:<(?:([+-]?)(\d+)|([^>]*))>|'(?:([+-]?)(\d+)|([^']*))')/.exec(rest);
  if (call) {
    s.i += call[0].length;
    const [, sign, digits, name] =
      call[1] !== undefined || call[2] !== undefined || call[3] !== undefined ? call : [0, call[4], call[5], call[6]];
    if (digits !== undefined) {
      if (Number(digits) === 0) {
        if (sign) throw new Problem('a relative reference must not be zero');
        return { node: { t: 'ref', recursion: true }, repeatable: true };
      }
      return reference(s, { number: relative(s, sign as string, Number(digits)), recursion: true }, false);
    }
    checkName(name as string);
    return reference(s, { name: name as string, recursion: true }, false);
  }
  const numbered = braced && braced[2] !== undefined ? braced : plain;
  if (numbered) {
    s.i += numbered[0].length;
    const [, sign, digits] = numbered;
    if (Number(digits) === 0 || sign === '+') {
      if (sign === '+' && numbered === braced && Number(digits) > 0) return reference(s, { number: s.captures + Number(digits) }, false);
      throw new Problem('reference to non-existent subpattern');
    }
    return reference(s, { number: relative(s, sign!, Number(digits)) }, false);
  }
  if (braced) {
    s.i += braced[0].length;
    checkName(braced[3]!);
    return reference(s, { name: braced[3] }, false);
  }
  throw new Problem('\\g is not followed by a braced, angle-bracketed, or quoted name/number or by a plain number');
}

export function checkName(name: string): void {
  if (name === '') throw new Problem('subpattern name expected');
  if (!/^[\p{L}_][\p{L}\p{Nd}_]*$/u.test(name)) throw new Problem('subpattern name must start with a non-digit');
  if (Buffer.byteLength(name) > NAME_MAX) throw new Problem('subpattern name is too long (maximum 32 bytes)');
}

/** The group forms that call or refer to a group: `(?P=n)`, `(?P>n)`, `(?&n)`, `(?R)`, `(?1)`, `(?-1)`, `(?+1)`. */
export function callOrReference(s: ParseState, after: string): Item | undefined {
  const next = after[0];
  if (next === 'P') {
    if (after[1] === '=' || after[1] === '>') {
      s.i += 4;
      const name = groupName(s, ')');
      s.i -= 1; // the `)` is the group's close
      return reference(s, { name, recursion: after[1] === '>' });
    }
    throw new Problem('unrecognized character after (?P');
  }
  if (next === '&') {
    s.i += 3;
    const name = groupName(s, ')');
    s.i -= 1;
    return reference(s, { name, recursion: true });
  }
  if (next === 'R' && after[1] !== ')') throw new Problem('(?R must be followed by )');
  const call = /^(?:R|([+-]?)(\d+))\)/.exec(after);
  if (call) {
    s.i += 2 + call[0].length - 1;
    if (call[2] === undefined || Number(call[2]) === 0) {
      if (call[1]) throw new Problem('a relative reference must not be zero');
      return reference(s, { recursion: true, number: 0 });
    }
    return reference(s, { number: relative(s, call[1]!, Number(call[2])), recursion: true });
  }
  return undefined;
}

/** The condition of a `(?(…)` that is no assertion, read past its `)`: whether it is DEFINE. */
export function referenceCondition(s: ParseState, rest: string): boolean {
  const condition = /^(?:([+-]?)(\d+)|<([^>]*)>|'([^']*)'|R(\d+)|R&([^)]*)|R|DEFINE|VERSION[<>]?=\d+(?:\.\d+)?|([\p{L}\p{Nd}_]*))\)/u.exec(
    rest,
  );
  if (!condition) throw new Problem('missing closing parenthesis for condition');
  const [text, sign, digits, angled, quoted, recursed, recursedName, bare] = condition;
  if (digits !== undefined) {
    if (Number(digits) === 0) throw new Problem('reference to non-existent subpattern');
    mustExist(s, { number: relative(s, sign!, Number(digits)) });
  } else if (recursed !== undefined) mustExist(s, { number: Number(recursed) });
  else {
    const name = angled ?? quoted ?? recursedName ?? bare;
    if (name !== undefined) {
      if (name === '') throw new Problem('subpattern name expected');
      mustExist(s, { name });
    }
  }
  s.i += text.length;
  return text === 'DEFINE)';
}
