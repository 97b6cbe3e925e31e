import type { Filter } from '../crud/filter.js';
import { isPlainObject } from '../crud/filter.js';
import { InvalidInputError } from '../errors.js';
import type { Db } from './db.js';

/** SQL text and its parameters (as sql-filter.ts's Sql, which imports this module). */
interface Sql {
  sql: string;
  params: unknown[];
}

/**
 * `$text` on the embedded store: MongoDB's `$search` semantics over the FTS5 index `users_text`
 * (migration 10): words ORed, `"phrases"` that must all appear (then the words only rank), `-word`
 * and `-"phrase"` excluding, case- and diacritic-insensitive, stemmed. The MATCH expression is
 * built from the words alone, each quoted here: no FTS5 syntax from a request (`NEAR`, `*`, `:`,
 * parentheses, column filters) can reach it.
 */
export const MAX_TEXT_TERMS = 32;
export const MAX_SEARCH_LENGTH = 1000;
const OPTIONS = new Set(['$search', '$language', '$caseSensitive', '$diacriticSensitive']);
const LANGUAGES = new Set(['english', 'en']);
/** What the index's tokenizer (unicode61) reads as a word: letters, marks and digits. */
const WORD = /[\p{L}\p{M}\p{N}]+/gu;
const ALWAYS_INDEXED = ['username', 'email'];

/** `seq IN (…)` for a `$text` condition; `0` when the search names no word to find. */
export function textCondition(operand: unknown): Sql {
  const match = matchExpression(operand);
  if (match === undefined) return { sql: '0', params: [] };
  return { sql: 'seq IN (SELECT rowid FROM users_text WHERE users_text MATCH ?)', params: [match] };
}

/** The FTS5 MATCH text of a `$text` operand; undefined when nothing can match. */
export function matchExpression(operand: unknown): string | undefined {
  const search = readOptions(operand);
  const words: string[] = [];
  const phrases: string[] = [];
  const excluded: string[] = [];
  let terms = 0;
  // A quoted phrase, or a run of other characters; a leading `-` negates either.
  for (const [, minus, phrase, bare] of search.matchAll(/(-?)(?:"([^"]*)"?|([^\s"]+))/g)) {
    const tokens = [...(phrase ?? bare ?? '').matchAll(WORD)].map(([token]) => token);
    if (tokens.length === 0) continue;
    // Each word of a phrase counts: FTS5 reads the positions of every one of them in every user
    // that holds it (a 400-word phrase held the event loop for seconds over a few large users).
    terms += tokens.length;
    if (terms > MAX_TEXT_TERMS) throw refuse(`$search takes at most ${MAX_TEXT_TERMS} terms, each word of a phrase counted`);
    if (minus) excluded.push(...(phrase === undefined ? tokens.map(quoted) : [quoted(tokens.join(' '))]));
    else if (phrase !== undefined) phrases.push(quoted(tokens.join(' ')));
    else words.push(...tokens.map(quoted));
  }
  const wanted = phrases.length > 0 ? phrases.join(' AND ') : words.join(' OR ');
  if (wanted === '') return undefined;
  return excluded.length === 0 ? wanted : `(${wanted}) NOT (${excluded.join(' OR ')})`;
}

function readOptions(operand: unknown): string {
  if (!isPlainObject(operand)) throw refuse('$text must be an object with $search');
  for (const key of Object.keys(operand)) if (!OPTIONS.has(key)) throw refuse(`Unknown option for $text search query: ${key}`);
  const { $search: search, $language: language, $caseSensitive: caseSensitive, $diacriticSensitive: diacritic } = operand;
  if (typeof search !== 'string') throw refuse('$text must include $search, a string');
  if (search.length > MAX_SEARCH_LENGTH) throw refuse(`$search must be at most ${MAX_SEARCH_LENGTH} characters`);
  if (language !== undefined && !(typeof language === 'string' && LANGUAGES.has(language.toLowerCase()))) {
    throw refuse('$language: the embedded store searches in english only');
  }
  if (caseSensitive !== undefined && caseSensitive !== false)
    throw refuse('$caseSensitive: the embedded store searches case-insensitively');
  if (diacritic !== undefined && diacritic !== false) throw refuse('$diacriticSensitive: the embedded store ignores diacritics');
  return search;
}

/** An FTS5 string: the token between double quotes (a quote inside doubled; the tokens hold none). */
function quoted(token: string): string {
  return `"${token.replaceAll('"', '""')}"`;
}

function refuse(problem: string): InvalidInputError {
  return new InvalidInputError(`querystring/_q/$text ${problem}`, [{ path: ['querystring', '_q', '$text'], message: problem }]);
}

/**
 * The users' fields with an indexed column of their own (migration 1): the fields a clause of a
 * `$or` holding `$text` may name, as MongoDB answers such a `$or` only from indexes (the CRUD's
 * parser refuses other names before it asks). A Set: a name from a request is only looked up in it.
 */
export const INDEXED_FIELDS: ReadonlySet<string> = new Set([
  '_id',
  '__STATE__',
  'userGroup',
  'username',
  'email',
  'authUserId',
  'createdAt',
  'updatedAt',
]);

/** The CRUD's words (lib/QueryParser.js traverseTextSearchQuery). */
export const TEXT_IN_OR_NOT_INDEXED = 'To use a $text query in an $or expression, all clauses in the $or array must be indexed';

/**
 * Where `$text` may stand, as MongoDB takes it: one at most, a condition of the top level or of a
 * clause of a `$or` (through `$and` and `$or`), never under `$nor`, `$not`, `$elemMatch` or a field;
 * and a `$or` holding it names indexed fields only in its clauses (INDEXED_FIELDS), else the CRUD's 400.
 */
export function assertTextPlacement(filter: Filter): void {
  const texts = countText(filter);
  if (texts === 0) return;
  if (texts > 1) throw misplaced('a query takes one $text at most');
  checkPlacement(filter);
}

function checkPlacement(filter: Filter): void {
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$text') continue;
    if ((key === '$and' || key === '$or') && Array.isArray(value)) {
      const clauses = value.filter(isPlainObject);
      if (key === '$or' && countText(clauses) > 0) {
        for (const clause of clauses)
          if (Object.keys(clause).some((field) => !field.startsWith('$') && !INDEXED_FIELDS.has(field)))
            throw new InvalidInputError(TEXT_IN_OR_NOT_INDEXED, [{ path: ['querystring', '_q', '$or'], message: TEXT_IN_OR_NOT_INDEXED }]);
      }
      clauses.forEach(checkPlacement);
    } else if (countText(value) > 0) {
      throw misplaced('$text must be a condition of the top level of the query or of a clause of its $or');
    }
  }
}

/** How many `$text` keys a value holds, at any depth (as the CRUD counts them). */
export function countText(value: unknown): number {
  if (Array.isArray(value)) return value.reduce<number>((sum, item) => sum + countText(item), 0);
  if (!isPlainObject(value)) return 0;
  return Object.entries(value).reduce((sum, [key, inner]) => sum + (key === '$text' ? 1 : countText(inner)), 0);
}

function misplaced(problem: string): InvalidInputError {
  return new InvalidInputError(`querystring/_q ${problem}`, [{ path: ['querystring', '_q', '$text'], message: problem }]);
}

/**
 * The ids of the users a `$text` operand matches, for a `$or` holding `$text` that SQL cannot
 * answer whole (a clause with a condition mingo evaluates): the residual's `$text` is tested
 * against them. At most one id per user, read from the index once per search.
 */
export function textHits(db: Db): (operand: unknown) => ReadonlySet<string> {
  const statement = db.prepare<[string], { id: string }>(
    'SELECT id FROM users WHERE seq IN (SELECT rowid FROM users_text WHERE users_text MATCH ?)',
  );
  return (operand) => {
    const match = matchExpression(operand);
    return match === undefined ? new Set() : new Set(statement.all(match).map((row) => row.id));
  };
}

/**
 * The rows (their `seq`) of a range, `after` < seq <= `last`, that a `$text` operand matches, for a
 * search read a slice at a time (user-search.ts): each slice asks the index about its own rows as
 * they stand then, where textHits' ids, read once, were stale by a later slice. Bound as integers
 * (BigInt), the bounds are FTS5's rowid range; asking about each row instead (textProbe) cost a
 * count over 100,000 users ten times as much.
 */
export function textHitsBetween(db: Db): (operand: unknown) => (after: number, last: number) => ReadonlySet<number> {
  const statement = db.prepare<[string, bigint, bigint], { seq: number }>(
    'SELECT rowid AS seq FROM users_text WHERE users_text MATCH ? AND rowid > ? AND rowid <= ?',
  );
  return (operand) => {
    const match = matchExpression(operand);
    return (after, last) =>
      match === undefined ? new Set() : new Set(statement.all(match, BigInt(after), BigInt(last)).map((row) => row.seq));
  };
}

/**
 * Whether the user of one row (its `seq`) is one a `$text` operand matches, for the export's scan,
 * which reads ROWS_PER_SCAN rows a call at most: it asks the index about those rows only, where
 * textHits reads every match (a word all of 100,000 users hold: 150 to 330 ms on each page of an
 * export). The rowid is bound as an integer (a BigInt): FTS5 seeks to it (about 10 µs), where a
 * JavaScript number, bound as a real, is no rowid constraint to it and every match was counted.
 */
export function textProbe(db: Db): (operand: unknown) => (seq: number) => boolean {
  const statement = db.prepare<[string, bigint], { n: number }>('SELECT 1 AS n FROM users_text WHERE users_text MATCH ? AND rowid = ?');
  return (operand) => {
    const match = matchExpression(operand);
    return (seq) => match !== undefined && statement.get(match, BigInt(seq)) !== undefined;
  };
}

/**
 * textHits for the by-id routes (`_q` and acl_rows of GET, PATCH, DELETE `/users/:id`): the user's
 * row asked of the index, as the export's scan asks it (textProbe). They were a 400 (`$text is not
 * supported`) where the list answered the same filter.
 */
export function textHitsById(db: Db): (operand: unknown) => { has(id: string): boolean } {
  const probe = textProbe(db);
  const seqOf = db.prepare<[string], { seq: number }>('SELECT seq FROM users WHERE id = ?');
  return (operand) => {
    const hit = probe(operand);
    return {
      has: (id) => {
        const row = seqOf.get(id);
        return row !== undefined && hit(row.seq);
      },
    };
  };
}

/**
 * Sets the fields the index reads (username, email and TEXT_SEARCH_FIELDS) and rebuilds it when
 * they changed since the last start, in one transaction.
 */
export function syncTextFields(db: Db, fields: readonly string[]): void {
  const wanted = [...new Set([...ALWAYS_INDEXED, ...fields])].map(textPath).sort();
  const current = db
    .prepare<[], { path: string }>('SELECT path FROM users_text_fields ORDER BY path')
    .all()
    .map((row) => row.path);
  if (JSON.stringify(current) === JSON.stringify(wanted)) return;
  db.transaction(() => {
    db.prepare('DELETE FROM users_text_fields').run();
    const insert = db.prepare('INSERT INTO users_text_fields (path) VALUES (?)');
    for (const path of wanted) insert.run(path);
    db.exec('DELETE FROM users_text; INSERT INTO users_text (rowid, body) SELECT seq, body FROM users_text_source;');
  }).immediate();
}

/** The JSON path of a dotted field, each segment quoted as JSON text (as sql-filter.ts's jsonPath). */
function textPath(field: string): string {
  return `$.${field
    .split('.')
    .map((segment) => JSON.stringify(segment))
    .join('.')}`;
}
