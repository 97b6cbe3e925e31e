import { type Case, count, list, M, O, P, q, U, W } from './cases-common.js';

/**
 * Issue #19 item 8: `$text` with `$search`, as MongoDB answers it over a text index of username,
 * email, name and author (the embedded store's TEXT_SEARCH_FIELDS=name,author): words ORed,
 * phrases required, `-` excluding, case- and diacritic-insensitive.
 */
const T = '666666666666666666666666';
const text = (search: string, more: Record<string, unknown> = {}) => q({ $text: { $search: search }, ...more });

export const TEXT_SEARCH: Case[] = [
  { item: 8, name: 'one word', path: list(text('ulysses')), status: 200, ids: [U] },
  { item: 8, name: 'words are ORed', path: list(text('Homer Tolstoy')), status: 200, ids: [O, W] },
  { item: 8, name: 'case-insensitive', path: list(text('HOMER')), status: 200, ids: [O] },
  { item: 8, name: 'diacritic-insensitive', path: list(`_st=TRASH&${text('evelyne')}`), status: 200, ids: [T] },
  { item: 8, name: 'a phrase must appear', path: list(text('"moby dick" herman homer')), status: 200, ids: [M] },
  { item: 8, name: 'a phrase in another order', path: list(text('"dick moby"')), status: 200, ids: [] },
  { item: 8, name: 'a word excluded', path: list(`_st=PUBLIC,TRASH,DELETED&${text('la -verdone')}`), status: 200, ids: [T, P] },
  { item: 8, name: 'a phrase excluded', path: list(text('la ulysses -"la prigioniera"')), status: 200, ids: [U] },
  { item: 8, name: 'only exclusions find nothing', path: list(text('-homer')), status: 200, ids: [] },
  { item: 8, name: 'with another filter', path: list(text('la ulysses', { price: { $gt: 10 } })), status: 200, ids: [U] },
  {
    item: 8,
    name: 'inside the top-level $and',
    path: list(q({ $and: [{ $text: { $search: 'la' } }, { price: 5 }] })),
    status: 200,
    ids: [P],
  },
  { item: 8, name: 'with _s', path: `/users/?userGroup=books&_s=-price&_p=_id&${text('la ulysses homer')}`, status: 200, ids: [U, O, P] },
  { item: 8, name: 'with _p', path: list(`_p=name&${text('ulysses')}`), status: 200, answer: [{ _id: U, name: 'Ulysses' }] },
  { item: 8, name: 'count', path: count(text('james homer')), status: 200, answer: 2 },
  { item: 8, name: 'with acl_rows', path: list(text('la ulysses')), headers: { acl_rows: '{"price":{"$lt":10}}' }, status: 200, ids: [P] },
  { item: 8, name: 'search syntax is words', path: list(text('NEAR( * moby ) OR : ^ dick*')), status: 200, ids: [M] },
  { item: 8, name: 'an unknown option', path: list(q({ $text: { $search: 'x', $fuzzy: true } })), status: 400 },
  { item: 8, name: 'no $search', path: count(q({ $text: { $language: 'english' } })), status: 400 },
];
