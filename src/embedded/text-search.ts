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

/** Whether a filter holds `$text` anywhere but as one condition of its top level (which MongoDB refuses too). */
export function misplacedText(filter: Filter, top = true): boolean {
  return Object.entries(filter).some(([key, value]) => {
    if (key === '$text') return !top;
    if (Array.isArray(value)) return value.some((item) => isPlainObject(item) && misplacedText(item, key === '$and' && top));
    return isPlainObject(value) && misplacedText(value, false);
  });
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
