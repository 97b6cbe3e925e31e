import { describe, expect, it } from 'vitest';
import { TextIndexCheck } from '../../src/clients/crud/text-index.js';
import { createDispatcher } from '../../src/clients/http.js';

/** Port 9 (discard) on loopback: nothing listens, the check's count is refused at once (answer unknown). */
const upstream = { name: 'CRUD', baseUrl: 'http://127.0.0.1:9', dispatcher: createDispatcher(1000), timeoutMs: 1000 };

describe('the text-index check of a CRUD call', () => {
  const check = new TextIndexCheck(upstream, '/users');

  // faacaea: an await in every CRUD call shifted the timing of concurrent requests (the replicas' register race).
  it('gives nothing to wait for when the call carries no $text', () => {
    expect(check.assertUsable({ method: 'GET', path: '/users/', query: '_q=%7B%22name%22%3A%22text%22%7D' })).toBeUndefined();
    expect(check.assertUsable({ method: 'GET', path: '/users/', query: { _q: '{"note":"$text"}' } })).toBeUndefined();
    expect(check.assertUsable({ method: 'PATCH', path: '/users/1', query: { _q: '{"$text":{"$search":"a"}}' } })).toBeUndefined();
  });

  it('checks a $text key however the raw query or its JSON spells it', async () => {
    for (const query of ['_q=%7B%22%24%74ext%22%3A%7B%7D%7D', `_q=${encodeURIComponent('{"\\u0024text":{}}')}`, '%5Fq={"$text":{}}']) {
      const waiting = check.assertUsable({ method: 'GET', path: '/users/', query });
      expect(waiting).toBeInstanceOf(Promise);
      await waiting; // the CRUD did not answer: unknown, the call goes on
    }
  });
});
