/** The users list's filters, kept in the page's URL so a reload or a new login comes back to them. */
export interface UsersQuery {
  search: string;
  group: string;
  state: string;
  sort: string;
  /** The cursor the page starts after ('' for the first page): a reload or a link keeps the page. */
  after: string;
}

export const STATES = ['PUBLIC', 'DRAFT', 'TRASH', 'DELETED'] as const;
export type State = (typeof STATES)[number];

/** The sorts the list offers, with their labels. */
export const SORTS = [
  ['username', 'Username, A to Z'],
  ['-username', 'Username, Z to A'],
  ['email', 'E-mail'],
  ['-createdAt', 'Newest first'],
  ['createdAt', 'Oldest first'],
] as const;

export function readQuery(search: string): UsersQuery {
  const params = new URLSearchParams(search);
  return {
    search: params.get('q') ?? '',
    group: params.get('group') ?? '',
    state: knownState(params.get('state')),
    sort: offeredSort(params.get('sort')),
    after: params.get('after') ?? '',
  };
}

/**
 * A state the URL names, `ANY`, or PUBLIC (as when none is named): a state the list does not know
 * would ask for no state at all, which the export's `_st` refuses (400, as the CRUD).
 */
function knownState(state: string | null): string {
  return state === 'ANY' || STATES.some((known) => known === state) ? state! : 'PUBLIC';
}

/** A sort the list offers, or by username: another one is not shown selected, and an unknown field is a 400. */
function offeredSort(sort: string | null): string {
  return SORTS.some(([value]) => value === sort) ? sort! : 'username';
}

export function writeQuery(query: UsersQuery): string {
  const params = new URLSearchParams();
  if (query.search) params.set('q', query.search);
  if (query.group) params.set('group', query.group);
  if (query.state !== 'PUBLIC') params.set('state', query.state);
  if (query.sort !== 'username') params.set('sort', query.sort);
  if (query.after) params.set('after', query.after);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** Escapes a text for a regular expression that matches it literally. */
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The CRUD filter of the list: the group, and the search box. One term (`e2e-b`, `anna@ex`) is a
 * prefix of the username or e-mail, as one types a name; several words are a full-text `$text`
 * search (where the store has a text index: whole words over username, e-mail and
 * TEXT_SEARCH_FIELDS), else a prefix too.
 */
export function filterOf(query: UsersQuery, textSearch: boolean): Record<string, unknown> {
  const filter: Record<string, unknown> = {};
  if (query.group) filter.userGroup = query.group;
  const words = query.search.trim();
  if (words && textSearch && /\s/.test(words)) filter.$text = { $search: words };
  else if (words) filter.$or = [{ username: { $regex: `^${literal(words)}` } }, { email: { $regex: `^${literal(words.toLowerCase())}` } }];
  return filter;
}

/**
 * The list's search as the store can answer it. Several words are a `$text` search until a store
 * without a text index refuses one: that search is asked again as a prefix, and only once the
 * prefix is answered are later searches prefixes too. A one-word search, or a refusal the prefix
 * shares (a network failure, an expired session), is the caller's error and keeps `$text`.
 */
export function textSearchFallback() {
  let textSearch = true;
  return {
    /** Whether several words are still sent as `$text` (the export asks the same filter). */
    get textSearch() {
      return textSearch;
    },
    async run<T>(query: UsersQuery, ask: (filter: Record<string, unknown>) => Promise<T>): Promise<T> {
      const usesText = textSearch && /\s/.test(query.search.trim());
      try {
        return await ask(filterOf(query, textSearch));
      } catch (error) {
        if (!usesText) throw error;
        const answer = await ask(filterOf(query, false));
        textSearch = false;
        return answer;
      }
    },
  };
}

/** Said when the service refuses a link's page (a cursor edited by hand or of another list). */
export const FIRST_PAGE_NOTE = 'The page of the link is not one the service knows: here is the first page.';

/** Whether the history entry is the first page a list went to after refusing a link's page. */
export const refusedPage = (state: unknown): boolean => (state as { refused?: unknown } | null)?.refused === true;

/**
 * The cursors of the pages before this one, kept in the history entry: "Previous page" goes back
 * through them after a reload too. A link to a later page (no entry) goes back to the first page.
 */
export function pageTrail(query: Pick<UsersQuery, 'after'>, state: unknown): string[] {
  const trail = (state as { trail?: unknown } | null)?.trail;
  if (Array.isArray(trail) && trail.every((cursor) => typeof cursor === 'string')) return trail as string[];
  return query.after ? [''] : [];
}

export function statesOf(query: UsersQuery): State[] {
  return query.state === 'ANY' ? [...STATES] : STATES.filter((state) => state === query.state);
}

/** The same filters as REST query parameters: the export downloads what the table shows. */
export function exportUrl(query: UsersQuery, textSearch: boolean): string {
  const params = new URLSearchParams({ _q: JSON.stringify(filterOf(query, textSearch)), _st: statesOf(query).join(',') });
  return `/users/export?${params.toString()}`;
}
