import { verify } from '@node-rs/argon2';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { seedGroups, startService, type TestService } from '../../helpers/service.js';

// Counts the argon2 verifications the service computes (the real function still runs).
vi.mock('@node-rs/argon2', async (importOriginal) => {
  const original = await importOriginal<typeof import('@node-rs/argon2')>();
  return { ...original, verify: vi.fn(original.verify) };
});

/**
 * A login's cost must not tell which accounts exist: an unknown name, a user without a password
 * and a wrong password each cost one argon2 verification, like a right one. Counted, not timed
 * (a timing ratio in a test flakes on a loaded machine; the work done is what makes it equal).
 */
const anonymous = { 'x-api-key': '' };
let service: TestService;

beforeAll(async () => {
  service = await startService({ store: 'embedded', identity: 'embedded', env: { RANDOM_PWD_GEN: 'false' } });
  await seedGroups(service);
  await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'customer',
    username: 'known',
    email: 'known@example.com',
    name: 'K',
    password: 'Right-passw0rd',
  });
  await service.call('POST', '/users/?postponeAuthUserCreation=true', { userGroup: 'customer', username: 'later', name: 'L' });
});
afterAll(() => service.close());

async function verificationsFor(username: string, password: string): Promise<{ status: number; verifications: number }> {
  const before = vi.mocked(verify).mock.calls.length;
  const res = await service.call('POST', '/oauth/token', { username, password }, anonymous);
  return { status: res.status, verifications: vi.mocked(verify).mock.calls.length - before };
}

describe('what a login costs', () => {
  it('is one verification whoever is asked for', async () => {
    expect(await verificationsFor('known', 'Right-passw0rd')).toEqual({ status: 200, verifications: 1 });
    expect(await verificationsFor('known', 'Wrong-passw0rd')).toEqual({ status: 401, verifications: 1 });
    expect(await verificationsFor('nobody-at-all', 'Wrong-passw0rd')).toEqual({ status: 401, verifications: 1 });
    expect(await verificationsFor('later', 'Wrong-passw0rd')).toEqual({ status: 401, verifications: 1 });
  });
});
