import { describe, expect, it } from 'vitest';
import type { IdentityField, IdentityProvider, IdentityUser } from '../../src/ports/identity-provider.js';
import { createLoaders, identityFieldSet } from '../../src/loaders.js';

const identity = (id: string): IdentityUser => ({
  id,
  blocked: false,
  emailVerified: false,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  loginsCount: 0,
});

/** An identity provider that knows `known`, records each read, and fails while `down` is set. */
function provider(known: string[]) {
  const reads: { ids: string[]; fields?: readonly IdentityField[] }[] = [];
  const state = { down: false };
  const fake = {
    async getUsers(ids: readonly string[], fields?: readonly IdentityField[]) {
      reads.push({ ids: [...ids], fields });
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (state.down) throw new Error('identity provider down');
      return ids.map((id) => (known.includes(id) ? identity(id) : undefined));
    },
  } as unknown as IdentityProvider;
  return { provider: fake, reads, state };
}

describe('identity loaders', () => {
  it('reads a page once, answers it without a promise, and tells a missing identity from one not loaded', async () => {
    const { provider: identities, reads } = provider(['a', 'b']);
    const loader = createLoaders(identities).identities(identityFieldSet(['lastLogin', 'blocked']));
    expect(loader.peek('a')).toBeUndefined();
    await loader.loadMany(['a', 'b', 'a', 'gone']);
    expect(reads).toEqual([{ ids: ['a', 'b', 'gone'], fields: ['blocked', 'lastLogin'] }]);
    expect(loader.peek('a')).toEqual(identity('a'));
    expect(loader.peek('gone')).toBeNull();
    expect(loader.peek('never-asked')).toBeUndefined();
    await loader.loadMany(['b', 'gone']);
    expect(reads).toHaveLength(1);
  });

  it('shares a read in flight with a page asked for at the same time, and reads only what it lacks', async () => {
    const { provider: identities, reads } = provider(['a', 'b', 'c']);
    const loader = createLoaders(identities).identities();
    await Promise.all([loader.loadMany(['a', 'b']), loader.loadMany(['b', 'c'])]);
    expect(reads.map((read) => read.ids)).toEqual([['a', 'b'], ['c']]);
    expect(['a', 'b', 'c'].map((id) => loader.peek(id)?.id)).toEqual(['a', 'b', 'c']);
  });

  it('forgets a failed read, so that the next asks again', async () => {
    const { provider: identities, reads, state } = provider(['a']);
    const loader = createLoaders(identities).identities();
    state.down = true;
    await expect(loader.loadMany(['a'])).rejects.toThrow('identity provider down');
    expect(loader.peek('a')).toBeUndefined();
    state.down = false;
    await loader.loadMany(['a']);
    expect(reads).toHaveLength(2);
    expect(loader.peek('a')?.id).toBe('a');
  });

  it('keeps one loader per set of fields', async () => {
    const { provider: identities, reads } = provider(['a']);
    const loaders = createLoaders(identities);
    await loaders.identities(identityFieldSet(['email'])).loadMany(['a']);
    await loaders.identities(identityFieldSet(['email'])).loadMany(['a']);
    await loaders.identities(identityFieldSet(['blocked'])).loadMany(['a']);
    expect(reads.map((read) => read.fields)).toEqual([['email'], ['blocked']]);
  });
});
