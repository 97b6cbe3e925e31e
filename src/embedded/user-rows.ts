import type { UserDoc } from '../ports/user-store.js';
import { type Filter, isPlainObject } from '../crud/filter.js';
import { createLinearQuery } from '../crud/regex.js';
import type { State } from '../crud/states.js';
import { InvalidInputError } from '../errors.js';

/** A row of the `users` table as the stores read it. */
export interface Row {
  id: string;
  state: State;
  doc: string;
}

export function toDoc(row: Row): UserDoc {
  // `_id` first, as MongoDB returns it.
  return { _id: row.id, ...(JSON.parse(row.doc) as object), __STATE__: row.state } as UserDoc;
}

/** `state IN (…)`; written `+state` (no index) when a unique column's index should lead (SplitFilter.selective). */
export function stateCondition(states: readonly string[], selective: boolean): string {
  return `${selective ? '+' : ''}state IN (${states.map(() => '?').join(',')})`;
}

/** The users (by id) a `$text` operand matches: every one (a Set), or one row at a time (the export's scan). */
export type TextHits = (operand: unknown) => { has(id: string): boolean };

/**
 * MongoDB semantics for what SQL could not answer; operators mingo lacks ($nearSphere) are a 400.
 * `$regex` runs on RE2 (linear time): a backtracking pattern cannot block the event loop. A `$text`
 * (in a `$or` SQL could not answer whole) is tested against the ids `textHits` reads from the index
 * for its operand (the by-id routes ask the index about their one row); without `textHits`, a 400.
 */
export function residualMatcher(filter: Filter, textHits?: TextHits): (doc: UserDoc) => boolean {
  const operand = textHits && findText(filter);
  const hits = operand === undefined ? undefined : textHits!(operand);
  const isTextHit = hits && ((doc: Record<string, unknown>) => typeof doc._id === 'string' && hits.has(doc._id));
  const matcher = asClientError(() => createLinearQuery(filter, undefined, isTextHit));
  return (doc) => asClientError(() => matcher.test(doc));
}

export function filterDocs(docs: UserDoc[], filter: Filter, textHits?: TextHits): UserDoc[] {
  return docs.filter(residualMatcher(filter, textHits));
}

/** The operand of the filter's `$text`, where it may stand (the top, clauses of `$and`/`$or`). */
function findText(filter: Filter): unknown {
  if (Object.hasOwn(filter, '$text')) return filter.$text;
  for (const key of ['$and', '$or'] as const) {
    const clauses = Object.hasOwn(filter, key) ? filter[key] : undefined;
    if (!Array.isArray(clauses)) continue;
    for (const clause of clauses) {
      const found = isPlainObject(clause) ? findText(clause) : undefined;
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function asClientError<T>(evaluate: () => T): T {
  try {
    return evaluate();
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    // mingo's words name its internals ("b.some is not a function"); only an operator it lacks is worth naming.
    const operator = /\$[A-Za-z]+/.exec(String((error as Error).message))?.[0];
    const problem = operator
      ? `operator ${operator} is not supported by the embedded store`
      : 'an operator does not fit the value it takes';
    throw new InvalidInputError(`querystring/_q cannot be evaluated: ${problem}`, [{ path: ['querystring', '_q'], message: problem }]);
  }
}
