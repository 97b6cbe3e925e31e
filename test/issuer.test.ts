import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { seedGroups, startService, type TestService } from './helpers/service.js';

/**
 * The embedded provider's token issuer: without TOKEN_ISSUER or UMS_BASE_URL, one value kept in
 * the embedded store, so every process on the same file issues and accepts the same tokens
 * whatever its HTTP_PORT. (An empty variable counts as unset.)
 */
const anonymous = { 'x-api-key': '' };
const PASSWORD = 'Shared-issuer-9';
const running: TestService[] = [];
afterEach(async () => {
  for (const service of running.splice(0)) await service.close();
});

async function onFile(file: string, env: Record<string, string>): Promise<TestService> {
  const service = await startService({
    store: 'embedded',
    identity: 'embedded',
    env: { EMBEDDED_DB_PATH: file, RANDOM_PWD_GEN: 'false', UMS_BASE_URL: '', ...env },
  });
  running.push(service);
  return service;
}

async function tokenFrom(service: TestService, username: string): Promise<string> {
  const created = await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'customer',
    username,
    email: `${username}@example.com`,
    name: 'I',
    password: PASSWORD,
  });
  expect(created.status).toBe(200);
  const login = await service.call('POST', '/oauth/token', { username, password: PASSWORD }, anonymous);
  expect(login.status).toBe(200);
  return login.body.accessToken as string;
}

const file = () => join(mkdtempSync(join(tmpdir(), 'ums-issuer-')), 'ums.sqlite');

describe('the token issuer', () => {
  it('is shared by two processes on one file with different HTTP_PORTs: each accepts the other’s tokens', async () => {
    const db = file();
    const first = await onFile(db, { HTTP_PORT: '3101' });
    await seedGroups(first);
    const second = await onFile(db, { HTTP_PORT: '3102' });
    const token = await tokenFrom(first, 'issuer1');
    expect(decodeJwt(token).iss).toMatch(/^urn:ums:[0-9a-f-]{36}$/);
    const info = await second.call('GET', '/userinfo', undefined, { ...anonymous, authorization: `Bearer ${token}` });
    expect(info.status).toBe(200);
    const back = await tokenFrom(second, 'issuer2');
    expect(decodeJwt(back).iss).toBe(decodeJwt(token).iss);
  });

  it('is UMS_BASE_URL when set, and TOKEN_ISSUER over both', async () => {
    const byUrl = await onFile(file(), { UMS_BASE_URL: 'https://ums.example.com' });
    await seedGroups(byUrl);
    expect(decodeJwt(await tokenFrom(byUrl, 'issuer3')).iss).toBe('https://ums.example.com');
    const explicit = await onFile(file(), { UMS_BASE_URL: 'https://ums.example.com', TOKEN_ISSUER: 'https://issuer.example.com' });
    await seedGroups(explicit);
    expect(decodeJwt(await tokenFrom(explicit, 'issuer4')).iss).toBe('https://issuer.example.com');
  });
});
