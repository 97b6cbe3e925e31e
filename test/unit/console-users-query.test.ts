import { describe, expect, it } from 'vitest';
import { exportUrl, pageTrail, readQuery, statesOf, textSearchFallback, writeQuery } from '../../console/src/lib/users-query.js';

describe("the console's users query", () => {
  it('reads a state it does not know from the URL as PUBLIC, so the list and the export ask for PUBLIC users', () => {
    const query = readQuery('?state=BOGUS');
    expect(statesOf(query)).toEqual(['PUBLIC']);
    // An empty _st is a 400 from the CRUD and from this service.
    expect(new URL(exportUrl(query, false), 'http://x').searchParams.get('_st')).toBe('PUBLIC');
  });

  it('keeps a known state, and ANY as every state', () => {
    expect(statesOf(readQuery('?state=TRASH'))).toEqual(['TRASH']);
    expect(statesOf(readQuery('?state=ANY'))).toEqual(['PUBLIC', 'DRAFT', 'TRASH', 'DELETED']);
    expect(new URL(exportUrl(readQuery('?state=ANY'), false), 'http://x').searchParams.get('_st')).toBe('PUBLIC,DRAFT,TRASH,DELETED');
  });

  it('reads a sort the list does not offer from the URL as by username (an unknown field is a 400)', () => {
    expect(readQuery('?sort=bogus').sort).toBe('username');
    expect(readQuery('?sort=').sort).toBe('username');
    expect(readQuery('?sort=-createdAt').sort).toBe('-createdAt');
  });

  it('keeps the page in the URL and the earlier pages in the history entry', () => {
    const query = readQuery('?group=customer&after=b2Zmc2V0OjI0');
    expect(query.after).toBe('b2Zmc2V0OjI0');
    expect(writeQuery(query)).toBe('?group=customer&after=b2Zmc2V0OjI0');
    expect(new URL(exportUrl(query, false), 'http://x').searchParams.has('after')).toBe(false);
    expect(pageTrail(query, { trail: ['', 'b2Zmc2V0OjA'] })).toEqual(['', 'b2Zmc2V0OjA']);
    // A link to a later page has no entry: "Previous page" goes to the first.
    expect(pageTrail(query, null)).toEqual(['']);
    expect(pageTrail(query, { trail: [1] })).toEqual(['']);
    expect(pageTrail(readQuery(''), null)).toEqual([]);
  });
});

describe("the console's search of several words", () => {
  const query = (search: string) => ({ ...readQuery(''), search });
  /** A store that refuses `$text` (no text index) and records the filters it was asked. */
  const store = (fails: (filter: Record<string, unknown>) => boolean) => {
    const asked: Record<string, unknown>[] = [];
    const ask = async (filter: Record<string, unknown>) => {
      asked.push(filter);
      if (fails(filter)) throw new Error('refused');
      return 'page';
    };
    return { asked, ask };
  };

  it('asks a $text search again as a prefix when the store refuses it, and sends prefixes from then on', async () => {
    const search = textSearchFallback();
    const { asked, ask } = store((filter) => '$text' in filter);
    await expect(search.run(query('anna smith'), ask)).resolves.toBe('page');
    expect(asked.map((filter) => Object.keys(filter))).toEqual([['$text'], ['$or']]);
    expect(search.textSearch).toBe(false);
    await search.run(query('bob jones'), ask);
    expect(Object.keys(asked[2]!)).toEqual(['$or']);
  });

  it('keeps $text when a one-word search fails (it sent no $text)', async () => {
    const search = textSearchFallback();
    const { asked, ask } = store(() => true);
    await expect(search.run(query('anna'), ask)).rejects.toThrow('refused');
    expect(asked).toHaveLength(1);
    expect(search.textSearch).toBe(true);
  });

  it('keeps $text when the prefix fails too (a failure of the service, not of $text)', async () => {
    const search = textSearchFallback();
    let down = true;
    const { asked, ask } = store(() => down);
    await expect(search.run(query('anna smith'), ask)).rejects.toThrow('refused');
    expect(search.textSearch).toBe(true);
    down = false;
    await search.run(query('anna smith'), ask);
    expect(asked.at(-1)).toHaveProperty('$text', { $search: 'anna smith' });
  });
});
