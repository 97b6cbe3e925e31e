import { describe, expect, it } from 'vitest';
import { assertTransition, bulkSourcesOf, pathToDeleted, STATES } from '../../src/crud/states.js';
import { TransitionError } from '../../src/errors.js';

describe('CRUD state machine', () => {
  it('allows exactly the single-document transitions of the CRUD Service', () => {
    const allowed = STATES.flatMap((from) =>
      STATES.filter((to) => {
        try {
          assertTransition(from, to);
          return from !== to;
        } catch (error) {
          expect(error).toBeInstanceOf(TransitionError);
          expect((error as Error).message).toBe(`transition from ${from} to ${to} not allowed.`);
          return false;
        }
      }).map((to) => `${from}>${to}`),
    );
    expect(allowed.sort()).toEqual(
      ['DELETED>TRASH', 'DRAFT>PUBLIC', 'DRAFT>TRASH', 'PUBLIC>DRAFT', 'PUBLIC>TRASH', 'TRASH>DELETED', 'TRASH>DRAFT'].sort(),
    );
  });

  it('knows the bulk route sources and the soft-delete path', () => {
    expect(bulkSourcesOf('DELETED')).toEqual(['TRASH']);
    expect(bulkSourcesOf('PUBLIC')).toEqual(['DRAFT']);
    expect(pathToDeleted('PUBLIC')).toEqual(['TRASH', 'DELETED']);
    expect(pathToDeleted('DRAFT')).toEqual(['TRASH', 'DELETED']);
    expect(pathToDeleted('TRASH')).toEqual(['DELETED']);
    expect(pathToDeleted('DELETED')).toEqual([]);
  });
});
