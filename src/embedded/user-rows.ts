import type { UserDoc } from '../ports/user-store.js';
import type { Filter } from '../crud/filter.js';
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

/**
 * MongoDB semantics for what SQL could not answer; operators mingo lacks ($text, $nearSphere) are a
 * 400. `$regex` runs on RE2 (linear time): a backtracking pattern cannot block the event loop.
 */
export function residualMatcher(filter: Filter): (doc: UserDoc) => boolean {
  const matcher = asClientError(() => createLinearQuery(filter));
  return (doc) => asClientError(() => matcher.test(doc));
}

export function filterDocs(docs: UserDoc[], filter: Filter): UserDoc[] {
  return docs.filter(residualMatcher(filter));
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
