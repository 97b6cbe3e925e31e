import { describe, expect, it } from 'vitest';
import { BLOCK, ownAccountWarning, TRANSITIONS, UNBLOCK } from '../../console/src/lib/user-transitions.js';

describe("the console's confirmation of an action on one's own account", () => {
  const byLabel = (label: string) => TRANSITIONS.find((transition) => transition.label === label)!;

  it('warns before each action that ends the logged-in administrator its own access', () => {
    for (const transition of [
      BLOCK,
      byLabel('Move to draft'),
      byLabel('Move to trash'),
      byLabel('Mark deleted'),
      byLabel('Soft delete'),
      byLabel('Delete for good'),
    ])
      expect(ownAccountWarning(transition, true), transition.label).toMatch(/your own account/);
  });

  it('says nothing for another user, or for an action that leaves the account able to log in', () => {
    for (const transition of [...TRANSITIONS, BLOCK]) expect(ownAccountWarning(transition, false)).toBeUndefined();
    expect(ownAccountWarning(UNBLOCK, true)).toBeUndefined();
    expect(ownAccountWarning(byLabel('Publish'), true)).toBeUndefined();
  });
});
