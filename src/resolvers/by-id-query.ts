import type { Context } from '../context.js';
import { fieldIndexOf, type FieldIndex } from '../crud/field-types.js';
import type { Filter } from '../crud/filter.js';
import { parseByIdQuery } from '../crud/query.js';
import { parseStates } from '../crud/query-params.js';
import { checkPassedOnQuery, queryObjectOf } from '../crud/raw-query.js';
import type { State } from '../crud/states.js';
import { during } from '../errors.js';

/** A by-id route's query string, checked once and split into what each part is for. */
export interface ByIdRequest {
  /** `_st`, when the caller gave it. */
  states?: State[];
  /** `_q` and `field=value`, passed on as they came (the store casts them by its schema); undefined when none. */
  query?: string;
  /** `_p`, or the fields a plain `_rawp` keeps (GET only). */
  projection?: string[];
  /** The fields a `_rawp` of exclusions leaves out (GET only). */
  exclusion?: string[];
  /** `_id: 0` among a `_rawp`'s inclusions (GET only). */
  withoutId?: true;
  /** A `_rawp` with aggregation expressions (GET only; raw-expressions.ts). */
  expression?: Record<string, unknown>;
  /** `_q`, `field=value` and acl_rows as one filter (for `_p=a.$`, which projects the element they matched). */
  filter: Filter;
}

/**
 * `GET|PATCH|DELETE /users/:id?…`: the CRUD's parameters, refused with a 400 in both modes when
 * malformed (unknown `_` parameters, operators off the allow-list, a date that is no date on a
 * standard field); `_p` and `_rawp` are accepted on GET only, as the CRUD's routes do.
 */
export function parseByIdRequest(
  ctx: Context,
  rawQuery: string,
  { projection = false, index }: { projection?: boolean; index?: FieldIndex } = {},
): ByIdRequest {
  checkPassedOnQuery(rawQuery, ctx.scope.headers.acl_rows, projection ? { aclReadColumns: ctx.scope.headers.acl_read_columns } : undefined);
  const query = queryObjectOf(rawQuery);
  const parsed = parseByIdQuery(query, {
    aclRows: ctx.scope.headers.acl_rows,
    projection,
    aclReadColumns: ctx.scope.headers.acl_read_columns,
    ...(index ? { index } : {}),
  });
  const conditions = new URLSearchParams(rawQuery);
  conditions.delete('_st');
  conditions.delete('_p');
  conditions.delete('_rawp');
  const text = conditions.toString();
  return {
    states: query._st === undefined ? undefined : parseStates(query._st),
    query: text === '' ? undefined : text,
    projection: parsed.projection,
    exclusion: parsed.exclusion,
    withoutId: parsed.withoutId,
    expression: parsed.expression,
    filter: parsed.filter,
  };
}

/** The fields of every user as all the group schemas declare them, for the casts a request needs. */
export async function groupFields(ctx: Context): Promise<FieldIndex> {
  const groups = await during('reading the user groups', () => ctx.deps.groups.listGroups());
  return fieldIndexOf(groups.map((group) => group.crudSchema));
}
