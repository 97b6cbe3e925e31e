import type { State } from '../crud/states.js';
import { toDoc } from './user-rows.js';

/** A row of `users` as `Statement.raw()` gives it: id, state, doc. */
export type RawRow = [id: string, state: State, doc: string];

/** A digit after `{"`: the document's first key may be an array index, which JavaScript orders before `_id`. */
const FIRST_KEY_IS_NUMERIC = /^\{"[0-9]/;

/**
 * A page of users as JSON text, the same bytes as `JSON.stringify(rows.map(toDoc))` without parsing
 * a document: each stored doc is JSON.stringify's own text (every write and migration makes it so),
 * and `toDoc` only puts `_id` before its members and `__STATE__` after them. Parsing 100 documents
 * and writing them back was two thirds of a page's time (docs/decisions.md, issue #23).
 * The one order JavaScript changes is an array-index key (`"0"`, `"12"`), which an object holds
 * before `_id`: a document that could start with one takes the general way.
 */
export function pageText(rows: readonly RawRow[]): string {
  let text = '[';
  for (let index = 0; index < rows.length; index += 1) {
    if (index > 0) text += ',';
    text += docText(rows[index]!);
  }
  return `${text}]`;
}

function docText([id, state, doc]: RawRow): string {
  if (FIRST_KEY_IS_NUMERIC.test(doc)) return JSON.stringify(toDoc({ id, state, doc }));
  const members = doc.length > 2 ? `,${doc.slice(1, -1)}` : '';
  return `{"_id":${JSON.stringify(id)}${members},"__STATE__":${JSON.stringify(state)}}`;
}
