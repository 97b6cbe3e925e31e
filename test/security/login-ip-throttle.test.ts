import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.js';
import { seedGroups, startService, type TestService } from '../helpers/service.js';

/** The per-address login throttle (LOGIN_IP_MAX_FAILURES), which holds whatever the identity provider. */
const PASSWORD = 'Correct-horse-9';
const LIMIT = 5;
const anonymous = { 'x-api-key': '' };
let service: TestService | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

async function start(clock?: FakeClock) {
  service = await startService({
    clock,
    env: { RANDOM_PWD_GEN: 'false', LOGIN_IP_MAX_FAILURES: String(LIMIT), LOGIN_IP_WINDOW_SECONDS: '600' },
  });
  return service;
}

const login = (service: TestService, username: string, password: string) =>
  service.call('POST', '/oauth/token', { username, password }, anonymous);

describe('per-address login throttle', () => {
  it('30 failures sent at once from one address: at most the limit are checked, the rest get 429 with Retry-After', async () => {
    const service = await start();
    // A different name each, so no account lockout takes part: only the address is throttled.
    const answers = await Promise.all(Array.from({ length: 30 }, (_, index) => login(service, `spray-${index}`, 'Wrong-guess-1')));
    const refused = answers.filter((answer) => answer.status === 429);
    expect(answers.filter((answer) => answer.status === 401).length).toBeLessThanOrEqual(LIMIT);
    expect(refused.length).toBeGreaterThanOrEqual(30 - LIMIT);
    for (const answer of refused) {
      expect(answer.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
      const retryAfter = Number(answer.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(600);
    }
  });

  it('the window ends LOGIN_IP_WINDOW_SECONDS after its first failure, on the service clock', async () => {
    const clock = new FakeClock();
    const service = await start(clock);
    for (let index = 0; index < LIMIT; index += 1) expect((await login(service, `w-${index}`, 'Wrong-guess-1')).status).toBe(401);
    expect((await login(service, 'w-next', 'Wrong-guess-1')).status).toBe(429);
    await clock.advance(599_000);
    expect((await login(service, 'w-next', 'Wrong-guess-1')).headers.get('retry-after')).toBe('1');
    await clock.advance(1000);
    expect((await login(service, 'w-next', 'Wrong-guess-1')).status).toBe(401);
  });

  it('successful logins do not use up the budget of failures', async () => {
    const service = await start();
    await seedGroups(service);
    const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
      userGroup: 'customer',
      username: 'throttled',
      email: 'throttled@example.com',
      name: 'T',
      password: PASSWORD,
    });
    expect(created.status).toBe(200);
    for (let round = 0; round < LIMIT - 1; round += 1) expect((await login(service, `miss-${round}`, 'Wrong-guess-1')).status).toBe(401);
    // One at a time: an attempt in flight holds its place in the budget until it succeeds.
    for (let round = 0; round < 10; round += 1) expect((await login(service, 'throttled', PASSWORD)).status).toBe(200);
    expect((await login(service, 'miss-last', 'Wrong-guess-1')).status).toBe(401);
    expect((await login(service, 'miss-after', 'Wrong-guess-1')).status).toBe(429);
  });
});

describe('per-address login throttle, address spellings', () => {
  async function startBehindProxy() {
    service = await startService({
      env: {
        LOGIN_IP_MAX_FAILURES: String(LIMIT),
        LOGIN_IP_WINDOW_SECONDS: '600',
        PASSWORD_RESET_IP_MAX_ATTEMPTS: String(LIMIT),
        TRUST_PROXY: '1',
      },
    });
    return service;
  }
  const from = (address: string) => ({ ...anonymous, 'x-forwarded-for': address });

  it('counts every address of one IPv6 /64 together: a client owns the whole /64 and could spray from each of its 2^64 addresses', async () => {
    const service = await startBehindProxy();
    for (let index = 1; index <= LIMIT; index += 1) {
      const res = await service.call(
        'POST',
        '/oauth/token',
        { username: `v6-${index}`, password: 'Wrong-guess-1' },
        from(`2001:db8:1:2::${index.toString(16)}`),
      );
      expect(res.status).toBe(401);
    }
    const sameNetwork = await service.call(
      'POST',
      '/oauth/token',
      { username: 'v6-next', password: 'Wrong-guess-1' },
      from('2001:db8:1:2:ffff:1:2:3'),
    );
    expect(sameNetwork.status).toBe(429);
    const resetPage = await service.call(
      'POST',
      '/password-reset',
      { ticket: 'guess', password: 'Wrong-guess-1' },
      from('2001:db8:1:2:aaaa::1'),
    );
    expect(resetPage.status).not.toBe(429);
    // Another /64 is another client.
    const otherNetwork = await service.call(
      'POST',
      '/oauth/token',
      { username: 'v6-other', password: 'Wrong-guess-1' },
      from('2001:db8:1:3::1'),
    );
    expect(otherNetwork.status).toBe(401);
  });

  it('counts an IPv4 address and its IPv4-mapped IPv6 spelling together', async () => {
    const service = await startBehindProxy();
    for (let index = 1; index <= LIMIT; index += 1) {
      const address = index % 2 === 0 ? '203.0.113.9' : '::ffff:203.0.113.9';
      expect(
        (await service.call('POST', '/oauth/token', { username: `v4-${index}`, password: 'Wrong-guess-1' }, from(address))).status,
      ).toBe(401);
    }
    expect(
      (await service.call('POST', '/oauth/token', { username: 'v4-next', password: 'Wrong-guess-1' }, from('::FFFF:cb00:7109'))).status,
    ).toBe(429);
    expect(
      (await service.call('POST', '/oauth/token', { username: 'v4-other', password: 'Wrong-guess-1' }, from('203.0.113.10'))).status,
    ).toBe(401);
  });
});
