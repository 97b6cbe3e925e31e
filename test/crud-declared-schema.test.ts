import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CrudCollection } from '../src/clients/crud/collection.js';
import { createDeclaredFields, DECLARED_FIELDS_TTL_MS } from '../src/clients/crud/declared-fields.js';
import { createDispatcher } from '../src/clients/http.js';
import { CrudEmulator } from './emulators/crud.js';
import { FakeClock } from './helpers/fake-clock.js';
import { CRUD_COLLECTIONS } from './helpers/service.js';

/** How the declared fields of `POST /import`'s check are read from `GET /users/schema`, and kept. */
let emulator: CrudEmulator;
let closedPort: number;
beforeAll(async () => {
  emulator = await new CrudEmulator(CRUD_COLLECTIONS).start();
  // A port that was just free: nothing listens there, a connection is refused.
  const probe = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => probe.once('listening', resolve));
  closedPort = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
});
afterAll(() => emulator.stop());
beforeEach(() => {
  emulator.failures.length = 0;
  emulator.withoutImport = false;
});

const users = (baseUrl: string) => new CrudCollection({ name: 'CRUD', baseUrl, dispatcher: createDispatcher(1000), retries: 0 }, '/users');
const schemaReads = () => emulator.requests.filter((r) => r.method === 'GET' && r.path === '/users/schema').length;
const undeclared = [{ _id: 'a'.repeat(24), username: 'u', nickname: 'N' }];

function declaredFields(clock: FakeClock, target = () => emulator.url) {
  return createDeclaredFields(() => users(target()).schema(), { clock });
}

describe('the declared fields of the CRUD users collection', () => {
  it('refuse a document with an undeclared field, naming it, and take declared ones (the CRUD fields too)', async () => {
    const fields = declaredFields(new FakeClock());
    const refused = await fields.firstRefused([{ username: 'ok', __STATE__: 'PUBLIC', _id: 'b'.repeat(24) }, ...undeclared]);
    expect(refused?.index).toBe(1);
    expect(refused?.error).toMatchObject({ status: 400, message: expect.stringContaining('"nickname"') });
  });

  it('are read once, kept for DECLARED_FIELDS_TTL_MS, then read again', async () => {
    const clock = new FakeClock();
    const fields = declaredFields(clock);
    const before = schemaReads();
    await Promise.all([fields.firstRefused(undeclared), fields.firstRefused(undeclared)]);
    await clock.advance(DECLARED_FIELDS_TTL_MS - 1);
    expect(await fields.firstRefused(undeclared)).toBeDefined();
    expect(schemaReads() - before).toBe(1);
    await clock.advance(1);
    expect(await fields.firstRefused(undeclared)).toBeDefined();
    expect(schemaReads() - before).toBe(2);
  });

  it('check nothing, for a while, after a 404 (a stand-in without the route) or an answer that names no properties', async () => {
    for (const failure of [{ status: 404 }, { status: 405 }, { status: 200, body: { type: 'object' } }, { status: 200, body: ['x'] }]) {
      const clock = new FakeClock();
      const fields = declaredFields(clock);
      emulator.failNext('GET', /\/users\/schema$/, failure.status, failure.body);
      const before = schemaReads();
      expect(await fields.firstRefused(undeclared)).toBeUndefined();
      expect(await fields.firstRefused(undeclared)).toBeUndefined();
      expect(schemaReads() - before).toBe(1);
      await clock.advance(DECLARED_FIELDS_TTL_MS);
      expect(await fields.firstRefused(undeclared)).toBeDefined();
    }
  });

  it('check nothing this once when the CRUD is unreachable or failing, and ask again on the next insert', async () => {
    let target = `http://127.0.0.1:${closedPort}`;
    const fields = declaredFields(new FakeClock(), () => target);
    expect(await fields.firstRefused(undeclared)).toBeUndefined();
    target = emulator.url;
    emulator.failNext('GET', /\/users\/schema$/, 503);
    expect(await fields.firstRefused(undeclared)).toBeUndefined();
    expect(await fields.firstRefused(undeclared)).toBeDefined();
  });

  it('still check top-level names when the schema does not compile (nested objects unchecked then)', async () => {
    const properties = { username: { type: 'no-such-type' }, profile: { type: 'object', additionalProperties: false } };
    emulator.failNext('GET', /\/users\/schema$/, 200, { type: 'object', properties });
    const fields = declaredFields(new FakeClock());
    expect(await fields.firstRefused([{ username: 'u', profile: { zip: '1' } }])).toBeUndefined();
    expect((await fields.firstRefused(undeclared))?.error.message).toContain('"nickname"');
  });

  it('read names such as constructor, hasOwnProperty and __proto__ as names, in the answer and in documents', async () => {
    const body =
      '{"type":"object","properties":{"constructor":{"type":"string"},"hasOwnProperty":{"type":"string"},"__proto__":{"type":"object","properties":{"polluted":{"type":"string"}}}}}';
    emulator.failNext('GET', /\/users\/schema$/, 200, JSON.parse(body));
    const fields = declaredFields(new FakeClock());
    expect(await fields.firstRefused([{ constructor: 'c', hasOwnProperty: 'h' }])).toBeUndefined();
    for (const doc of [{ toString: 'x' }, { valueOf: 'x' }, JSON.parse('{"__proto__": {"polluted": "yes"}}')]) {
      const refused = await fields.firstRefused([doc as Record<string, unknown>]);
      expect(refused?.error, JSON.stringify(doc)).toMatchObject({
        status: 400,
        message: expect.stringMatching(/^Property "(toString|valueOf|__proto__)"/),
      });
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).type).toBeUndefined();
  });

  it('compile a schema once while GET /schema answers it unchanged: a read after DECLARED_FIELDS_TTL_MS holds the event loop no more', async () => {
    // 1,000 object fields closed with additionalProperties: ajv took 1.5 s to compile their check,
    // again every 5 minutes though the answer had not changed.
    const fields = Object.fromEntries(
      Array.from({ length: 1000 }, (_, index) => [
        [`f${index}`, 'object'],
        [`f${index}.a`, 'string'],
      ]).flat(),
    );
    const closed = Array.from({ length: 1000 }, (_, index) => `f${index}`);
    const wide = await new CrudEmulator([{ path: '/users', fields, closed }]).start();
    try {
      const clock = new FakeClock();
      const declared = declaredFields(clock, () => wide.url);
      const doc = { _id: 'c'.repeat(24), f1: { a: 'x', zz: 1 } };
      expect((await declared.firstRefused([doc]))?.error.message).toContain('"f1.zz"');
      await clock.advance(DECLARED_FIELDS_TTL_MS + 1);
      const started = performance.now();
      expect((await declared.firstRefused([doc]))?.error.message).toContain('"f1.zz"');
      expect(performance.now() - started).toBeLessThan(300);
      expect(wide.requests.filter((r) => r.method === 'GET' && r.path === '/users/schema')).toHaveLength(2);
      // A changed answer is compiled again: f1 open now, f2 still closed.
      const properties = {
        f1: { type: 'object' },
        f2: { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false },
      };
      wide.failNext('GET', /\/users\/schema$/, 200, { type: 'object', properties });
      await clock.advance(DECLARED_FIELDS_TTL_MS + 1);
      expect(await declared.firstRefused([doc])).toBeUndefined();
      expect((await declared.firstRefused([{ f2: { zz: 1 } }]))?.error.message).toContain('"f2.zz"');
    } finally {
      await wide.stop();
    }
  });

  it('are not served by a stand-in of the CRUD without POST /import (404)', async () => {
    emulator.withoutImport = true;
    const reply = await users(emulator.url).schema();
    expect(reply.status).toBe(404);
  });
});
