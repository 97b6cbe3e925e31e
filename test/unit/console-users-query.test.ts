import { describe, expect, it } from 'vitest';
import { exportUrl, readQuery, statesOf } from '../../console/src/lib/users-query.js';

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
});
