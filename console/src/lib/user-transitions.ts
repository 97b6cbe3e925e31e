/** The state changes a user page offers, each with its documented effect, shown before it runs. */
export interface Transition {
  action: 'state' | 'softDelete' | 'delete' | 'block' | 'unblock';
  stateTo?: 'PUBLIC' | 'DRAFT' | 'TRASH' | 'DELETED';
  label: string;
  effect: string;
}

export const TRANSITIONS: Transition[] = [
  {
    action: 'state',
    stateTo: 'PUBLIC',
    label: 'Publish',
    effect: 'The user becomes PUBLIC: its identity is unblocked and it can log in again.',
  },
  {
    action: 'state',
    stateTo: 'DRAFT',
    label: 'Move to draft',
    effect: 'The user becomes DRAFT: its identity is blocked and its sessions end.',
  },
  {
    action: 'state',
    stateTo: 'TRASH',
    label: 'Move to trash',
    effect: 'The user becomes TRASH: its identity is blocked and its sessions end.',
  },
  {
    action: 'state',
    stateTo: 'DELETED',
    label: 'Mark deleted',
    effect: 'The user becomes DELETED: its identity is deleted (or only blocked when AUTH_HARD_DELETE is false). The profile stays.',
  },
  {
    action: 'softDelete',
    label: 'Soft delete',
    effect: 'The user goes PUBLIC → TRASH → DELETED and its identity is deleted or blocked. Safe to run again after a failure.',
  },
  { action: 'delete', label: 'Delete for good', effect: 'The profile and the identity user are deleted. This cannot be undone.' },
];

/** Which transitions apply from a state (the CRUD state machine: a state never moves to itself). */
export function transitionsFrom(state: string): Transition[] {
  return TRANSITIONS.filter((transition) => transition.stateTo !== state && !(transition.action === 'softDelete' && state === 'DELETED'));
}

/** Blocking is the profile's `blocked` flag (PATCH `$set`), whatever the state: the identity follows it. */
export const BLOCK: Transition = {
  action: 'block',
  label: 'Block',
  effect: 'The user is blocked: it cannot log in and its sessions end. Its state and profile stay as they are.',
};
export const UNBLOCK: Transition = {
  action: 'unblock',
  label: 'Unblock',
  effect: 'The user can log in again (a user that is not PUBLIC stays blocked until it is published).',
};

/**
 * Why blocking or unblocking was refused when the profile no longer fits its group (its schema asks
 * for more since): the PATCH validates the whole user, so the flag alone cannot be saved. In words,
 * without the API path, with the way out (moving to DRAFT blocks the identity without that check).
 */
export function profileRefused(transition: Transition, issues: { path: string[]; message: string }[]): string {
  const why = issues.map((issue) => `${issue.path.filter((part) => part !== 'body').join('.') || 'the profile'} ${issue.message}`);
  const way = transition.action === 'block' ? ', or move the user to draft (Move to draft…), which blocks its identity' : '';
  return `${transition.label} saves the profile, which its group refuses: ${why.join('; ')}. Fix the profile above first${way}.`;
}

/**
 * Said in the confirmation when an administrator is about to end its own access: a transition that
 * blocks or removes the identity of the account it is logged in with (its session ends at once,
 * and another administrator must undo it). Undefined when the user is someone else, or stays able
 * to log in.
 */
export function ownAccountWarning(transition: Transition, own: boolean): string | undefined {
  if (!own || transition.action === 'unblock' || transition.stateTo === 'PUBLIC') return undefined;
  return 'This is your own account: you will be logged out and cannot log in again until another administrator undoes it.';
}
