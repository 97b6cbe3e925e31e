import { checkFilter, type Filter, isPlainObject } from './filter.js';
import { assertPositionalsMatched } from './projection.js';
import { type CrudQuery, parseAclRows } from './query.js';
import { checkField, checkProjectedField, POSITIONAL, splitList } from './query-params.js';
import { checkPassedRawProjection } from './raw-projection.js';

const FORBIDDEN_NAME = /__proto__|constructor|prototype/;

/**
 * For a query the service passes on unread (the CRUD Service's list and count): `_q` gets the
 * checks a parsed query gets (operator allow-list, field names, depth, top-level operators), and
 * `__proto__`, `constructor` and `prototype` are refused in every name, so both modes answer
 * alike (a `$` or a NUL character in `_p` is checked too). A query with none of these, like most page reads, costs a
 * regular-expression test.
 */
export function checkPassedOnQuery(rawQuery: string, aclRows: string | undefined, rawp?: { aclReadColumns?: string }): void {
  // acl_rows that is no JSON: the CRUD's request hook would fail with a 500; a 400 here, whatever the query.
  const rows = aclRows ? parseAclRows(aclRows) : [];
  const text = decoded(rawQuery);
  // A NUL in a name (`_p=a%00`) is MongoDB's driver's error too (BSON ends a name with one).
  if (
    !text.includes('_q=') &&
    !text.includes('$') &&
    !text.includes('\0') &&
    !text.includes('_rawp=') &&
    !FORBIDDEN_NAME.test(text) &&
    !FORBIDDEN_NAME.test(aclRows ?? '')
  )
    return;
  // What MongoDB's query will hold, for a positional `_p` (`a.$`) to find its condition in.
  const query: Filter[] = [...rows];
  const positionals: string[] = [];
  for (const [key, value] of new URLSearchParams(rawQuery)) {
    if (key === '_q') query.push(checkJsonFilter(value, '_q'));
    else if (key === '_p')
      positionals.push(
        ...splitList(value)
          .map(checkProjectedField)
          .filter((field) => POSITIONAL.test(field)),
      );
    else if (key === '_s') splitList(value).forEach((item) => checkField(item.replace(/^-/, '')));
    else if (key === '_rawp' && rawp) checkPassedRawProjection(value, rawp.aclReadColumns);
    else if (!key.startsWith('_') || key === '_id') query.push({ [checkField(key)]: value });
  }
  assertPositionalsMatched(positionals, { $and: query });
}

/** The query as its names will be read (percent-encoding could spell them otherwise). */
function decoded(rawQuery: string): string {
  if (!rawQuery.includes('%')) return rawQuery;
  try {
    return decodeURIComponent(rawQuery);
  } catch {
    return [...new URLSearchParams(rawQuery)].flat().join('&');
  }
}

/** Checks a JSON filter; text that is not a JSON object is left for the upstream to refuse in its own words ({} then). */
function checkJsonFilter(text: string, param: string): Filter {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return {};
  }
  if (!isPlainObject(parsed)) return {};
  checkFilter(parsed, param);
  return parsed;
}

/** A raw query string as Express's simple parser would give it (repeated keys become arrays). */
export function queryObjectOf(query: CrudQuery | string): CrudQuery {
  if (typeof query !== 'string') return query;
  // No prototype: a parameter named `__proto__` or `toString` is a parameter like any other.
  const out = Object.create(null) as Record<string, string | string[]>;
  for (const [key, value] of new URLSearchParams(query)) {
    const previous = out[key];
    out[key] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return out;
}
