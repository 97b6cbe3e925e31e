/**
 * MongoDB's `$text` for the CRUD emulator, written from MongoDB's documentation (test code, apart
 * from the product's FTS5 reading): words ORed; when the search holds "phrases", every phrase must
 * appear; `-word` / `-"phrase"` exclude; case- and diacritic-insensitive. The collection's text
 * index covers `fields` (strings and arrays of strings). No stemming: the tests use whole words.
 */
type Doc = Record<string, unknown>;

const OPTIONS = ['$search', '$language', '$caseSensitive', '$diacriticSensitive'];

export class TextSearchError extends Error {}

function words(text: string): string[] {
  return (
    text
      .normalize('NFD')
      .replace(/\p{M}/gu, '')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? []
  );
}

function indexedText(doc: Doc, fields: readonly string[]): string[] {
  const values = fields.flatMap((field) => {
    const value = field.split('.').reduce<unknown>((at, key) => (at && typeof at === 'object' ? (at as Doc)[key] : undefined), doc);
    return Array.isArray(value) ? value.filter((item) => typeof item === 'string') : typeof value === 'string' ? [value] : [];
  });
  return values.map((value) => ` ${words(value).join(' ')} `);
}

/** A predicate for a `$text` operand over the index's `fields`. */
export function textMatcher(operand: unknown, fields: readonly string[]): (doc: Doc) => boolean {
  if (typeof operand !== 'object' || operand === null) throw new TextSearchError('$text must be an object');
  const options = operand as Doc;
  for (const key of Object.keys(options))
    if (!OPTIONS.includes(key)) throw new TextSearchError(`Unknown option for $text search query: ${key}`);
  if (typeof options.$search !== 'string') throw new TextSearchError('$text search query must include $search field');
  const terms = [...options.$search.matchAll(/(-?)(?:"([^"]*)"?|([^\s"]+))/g)];
  const pick = (negated: boolean, phrase: boolean) =>
    terms
      .filter(([, minus, quoted]) => Boolean(minus) === negated && (quoted !== undefined) === phrase)
      .map(([, , quoted, bare]) => words(quoted ?? bare ?? ''));
  const phrases = pick(false, true)
    .filter((tokens) => tokens.length > 0)
    .map((tokens) => ` ${tokens.join(' ')} `);
  const single = pick(false, false)
    .flat()
    .map((word) => ` ${word} `);
  const excluded = [
    ...pick(true, false)
      .flat()
      .map((word) => ` ${word} `),
    ...pick(true, true).map((tokens) => ` ${tokens.join(' ')} `),
  ];
  return (doc) => {
    const texts = indexedText(doc, fields);
    const has = (needle: string) => texts.some((text) => text.includes(needle));
    if (excluded.some(has)) return false;
    return phrases.length > 0 ? phrases.every(has) : single.some(has);
  };
}
