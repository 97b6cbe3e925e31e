import { TransitionError } from '../errors.js';

export const STATES = ['PUBLIC', 'DRAFT', 'TRASH', 'DELETED'] as const;
export type State = (typeof STATES)[number];
export const ALL_STATES: readonly State[] = STATES;

/** `POST /:id/state` of the CRUD Service: source state → the targets it may move to. */
const ONE_ID_TARGETS: Record<State, readonly State[]> = {
  PUBLIC: ['DRAFT', 'TRASH'],
  DRAFT: ['PUBLIC', 'TRASH'],
  TRASH: ['DRAFT', 'DELETED'],
  DELETED: ['TRASH'],
};

/** `POST /state` (bulk) of the CRUD Service: target state → the sources it accepts. */
const BULK_SOURCES: Record<State, readonly State[]> = {
  PUBLIC: ['DRAFT'],
  DRAFT: ['PUBLIC', 'TRASH'],
  TRASH: ['PUBLIC', 'DRAFT', 'DELETED'],
  DELETED: ['TRASH'],
};

export function isState(value: unknown): value is State {
  return typeof value === 'string' && (STATES as readonly string[]).includes(value);
}

/** Throws the CRUD's 400 when a single-document transition is not allowed. */
export function assertTransition(from: State | undefined, to: State): void {
  if (from === undefined || from === to) return;
  if (!ONE_ID_TARGETS[from].includes(to)) throw new TransitionError(from, to);
}

/** The states a document must be in to be moved to `to` by the bulk route. */
export function bulkSourcesOf(to: State): readonly State[] {
  return BULK_SOURCES[to];
}

/**
 * The states a document passes through to reach DELETED one allowed step at a time
 * (PUBLIC → TRASH → DELETED). Empty when it is already there.
 */
export function pathToDeleted(from: State): State[] {
  switch (from) {
    case 'DELETED':
      return [];
    case 'TRASH':
      return ['DELETED'];
    default:
      return ['TRASH', 'DELETED'];
  }
}
