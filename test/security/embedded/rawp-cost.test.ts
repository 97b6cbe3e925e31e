import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, type TestService } from '../../helpers/service.js';

/**
 * `_rawp` expressions the service evaluates itself (mingo, synchronous: the event loop waits), on
 * the embedded store's lists and on `GET /users/:id`: what the users hold must not turn a short
 * projection into seconds of work or an answer of hundreds of megabytes (docs/decisions.md,
 * "CRUD fidelity, round five", bounds on `_rawp` expressions).
 */
const scope = { actorId: 'rawp-cost', headers: {} };
const COSTLY_GROUP = {
  userGroup: 'costly',
  label: 'Costly',
  authUserCreationDisabled: true,
  crudSchema: {
    type: 'object',
    properties: {
      name: { type: 'string' },
      big: { type: 'string' },
      tags: { type: 'array', items: { type: 'string' } },
      objs: { type: 'array', items: { type: 'object' } },
      dates: { type: 'array', items: { type: 'string', format: 'date-time' } },
    },
  },
};

let service: TestService;
const ids: Record<string, string> = {};

beforeAll(async () => {
  service = await startService({ store: 'embedded' });
  await seedGroups(service, [COSTLY_GROUP]);
  const users: Record<string, Record<string, unknown>> = {
    // 100 items of 4,000 characters: 400 KB.
    wide: { tags: Array.from({ length: 100 }, (_, n) => `${n}-`.padEnd(4000, 'x')) },
    // 50 items of 4,000 characters: 200 KB.
    half: { tags: Array.from({ length: 50 }, (_, n) => `${n}-`.padEnd(4000, 'x')) },
    // 300 objects of 1,300 characters: 400 KB.
    // 600 distinct patterns of RE2's Unicode classes, each compiled in about 0.5 to 3 ms.
    patterns: { tags: Array.from({ length: 600 }, (_, n) => `(?i)[\\p{L}\\p{N}\\p{P}]{2,30}q${n}`) },
    // 4,000 short items: 42,000 characters.
    reads: { tags: Array.from({ length: 4000 }, (_, n) => `v${n}`) },
    // 600,000 characters of text.
    long: { big: 'a'.repeat(600_000) },
    // 200 dates.
    dated: { dates: Array.from({ length: 200 }, (_, n) => new Date(Date.UTC(2020, 0, 1 + n)).toISOString()) },
    nested: { objs: Array.from({ length: 300 }, () => ({ a: Array.from({ length: 150 }, (_, k) => ({ x: k })) })) },
  };
  for (const [name, fields] of Object.entries(users)) {
    const user = await service.deps.users.insert({ userGroup: 'costly', name, __STATE__: 'PUBLIC', ...fields }, scope);
    ids[name] = user._id;
  }
});
afterAll(() => service.close());

const rawp = (projection: unknown) => encodeURIComponent(JSON.stringify(projection));
const tooMuch = [400, expect.stringContaining('asks too much work of the embedded store')];

describe('_rawp expressions over large arrays', () => {
  it('refuses a user read again and again past the work budget (190 reads of 42,000 characters: 90 ms with the answer)', async () => {
    const reads = (count: number) => ({ o: { $concatArrays: Array.from({ length: count }, () => '$tags') } });
    const res = await service.call('GET', `/users/${ids.reads}?_rawp=${rawp(reads(190))}`);
    expect([res.status, res.body.message]).toEqual(tooMuch);
    const fewer = await service.call('GET', `/users/${ids.reads}?_rawp=${rawp(reads(50))}`);
    expect([fewer.status, fewer.body.o?.length]).toEqual([200, 200_000]);
  });

  it('refuses a $map repeating each large item (answers of 38 and 76 MB from users of 200 and 400 KB)', async () => {
    const projection = { o: { $map: { input: '$tags', in: Array.from({ length: 190 }, () => '$$this') } } };
    // Within the work the items' weight allows (200 KB × 192 values), still an answer of 38 MB: the answer's size is bounded too.
    for (const path of [`/users/${ids.wide}`, '/users/?name=wide', `/users/${ids.half}`]) {
      const res = await service.call('GET', `${path}${path.includes('?') ? '&' : '?'}_rawp=${rawp(projection)}`);
      expect([res.status, res.body.message], path).toEqual(tooMuch);
    }
    // The same items once each are answered.
    const once = await service.call('GET', `/users/${ids.wide}?_rawp=${rawp({ o: { $map: { input: '$tags', in: '$$this' } } })}`);
    expect([once.status, once.body.o?.length]).toEqual([200, 100]);
  });

  it('refuses comparisons of large items repeated in a $filter, charged by the items size', async () => {
    const cond = { $and: Array.from({ length: 40 }, () => ({ $eq: ['$$this', '$$this'] })) };
    const res = await service.call('GET', `/users/${ids.nested}?_rawp=${rawp({ o: { $filter: { input: '$objs', cond } } })}`);
    expect([res.status, res.body.message]).toEqual(tooMuch);
    const one = { o: { $size: { $filter: { input: '$objs', cond: { $eq: ['$$this', '$$this'] } } } } };
    const answered = await service.call('GET', `/users/${ids.nested}?_rawp=${rawp(one)}`);
    expect([answered.status, answered.body.o]).toEqual([200, 300]);
  });
});

describe('$regexMatch in a _rawp expression', () => {
  it('refuses patterns read from the users past the budget: each new one is compiled', async () => {
    const cond = { $regexMatch: { input: '$$this', regex: '$$this' } };
    for (const path of [`/users/${ids.patterns}`, '/users/?name=patterns']) {
      const res = await service.call(
        'GET',
        `${path}${path.includes('?') ? '&' : '?'}_rawp=${rawp({ o: { $filter: { input: '$tags', cond } } })}`,
      );
      expect([res.status, res.body.message], path).toEqual(tooMuch);
    }
  });

  it('refuses a large program over long text (charged by the text times the compiled size)', async () => {
    const projection = { o: { $regexMatch: { input: '$big', regex: '(?s)(?:.a){600}[YZ]' } } };
    const res = await service.call('GET', `/users/${ids.long}?_rawp=${rawp(projection)}`);
    expect([res.status, res.body.message]).toEqual(tooMuch);
    // A plain pattern over the same text, and a pattern of the request over the page, are answered.
    const plain = await service.call('GET', `/users/${ids.long}?_rawp=${rawp({ o: { $regexMatch: { input: '$big', regex: 'b' } } })}`);
    expect([plain.status, plain.body.o]).toEqual([200, false]);
    const page = await service.call(
      'GET',
      `/users/?userGroup=costly&_rawp=${rawp({ o: { $regexMatch: { input: '$name', regex: '^(wide|long)$' } } })}`,
    );
    expect([page.status, page.body.filter((user: { o: boolean }) => user.o).length]).toEqual([200, 2]);
  });
});

describe('$dateToString in a _rawp expression', () => {
  it('refuses formats past the budget: each directive costs, a month name most (the locale is asked)', async () => {
    const months = { o: { $dateToString: { date: '$createdAt', format: '%B'.repeat(500) } } };
    const page = await service.call('GET', `/users/?userGroup=costly&_rawp=${rawp(months)}`);
    expect([page.status, page.body.message]).toEqual(tooMuch);
    const format = '%Y-%m-%d'.repeat(300);
    const each = { o: { $map: { input: '$dates', in: { $dateToString: { date: '$$this', format } } } } };
    const byId = await service.call('GET', `/users/${ids.dated}?_rawp=${rawp(each)}`);
    expect([byId.status, byId.body.message]).toEqual(tooMuch);
    // An ordinary format over the page, and over each of the dates, is answered.
    const plain = await service.call(
      'GET',
      `/users/?userGroup=costly&_rawp=${rawp({ o: { $dateToString: { date: '$createdAt', format: '%Y-%m-%d %B' } } })}`,
    );
    expect([plain.status, plain.body.length]).toEqual([200, Object.keys(ids).length]);
    const dates = { o: { $map: { input: '$dates', in: { $dateToString: { date: '$$this', format: '%d %b %Y' } } } } };
    const listed = await service.call('GET', `/users/${ids.dated}?_rawp=${rawp(dates)}`);
    expect([listed.status, listed.body.o?.[0]]).toEqual([200, '01 Jan 2020']);
  });
});
