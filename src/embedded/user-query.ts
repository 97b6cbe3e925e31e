import type { CallScope } from '../ports/call-scope.js';
import type { ByIdOptions, UserDoc } from '../ports/user-store.js';
import { castFilterDates } from '../crud/cast.js';
import type { FieldIndex } from '../crud/field-types.js';
import type { Filter } from '../crud/filter.js';
import { assertOperatorTypes } from '../crud/operator-types.js';
import { assertKnownFilterFields, parseAclRows, parseByIdQuery } from '../crud/query.js';
import { queryObjectOf } from '../crud/raw-query.js';
import { filterDocs, type TextHits } from './user-rows.js';

/**
 * What a document must match on a by-id route: the caller's `_q` and `field=value` (the query of
 * ByIdOptions) and acl_rows, as the CRUD applies them. Undefined when there is nothing to match.
 */
export function byIdFilter(options: Pick<ByIdOptions, 'query'>, scope: CallScope | undefined, index: FieldIndex): Filter | undefined {
  const aclRows = scope?.headers.acl_rows;
  if (!options.query && !aclRows) return undefined;
  const query = queryObjectOf(options.query ?? '');
  delete query._st;
  delete query._p; // GET's projection: applied to the answer, not a condition
  const { filter } = parseByIdQuery(query, { aclRows, index });
  return Object.keys(filter).length > 0 ? filter : undefined;
}

/**
 * An internal search's filter (POST /users/state, reads by id): dates cast, and the caller's
 * acl_rows ANDed, as the CRUD applies them to every read.
 */
export function searchFilter(filter: Filter, scope: CallScope | undefined, index: FieldIndex): Filter {
  assertKnownFilterFields(filter, index);
  const cast = castFilterDates(filter, index, ['body', 'filter']);
  const aclRows = scope?.headers.acl_rows;
  if (!aclRows) return cast;
  const rows = parseAclRows(aclRows).map((row) => {
    assertOperatorTypes(row, index);
    return castFilterDates(row, index, ['headers', 'acl_rows']);
  });
  return { $and: [cast, ...rows] };
}

/** Whether `doc` matches `filter`; a `$text` in it is asked of `textHits` (a 400 without it). */
export function matches(doc: UserDoc, filter: Filter | undefined, textHits?: TextHits): boolean {
  return !filter || filterDocs([doc], filter, textHits).length === 1;
}
