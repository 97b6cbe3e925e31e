import { describe, expect, it } from 'vitest';
import { exportUrl, pageTrail, readQuery, statesOf, writeQuery } from '../../console/src/lib/users-query.js';

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
