/**
 * The service under benchmark, in its own process so the load generator does not share its event
 * loop. Seeds a temporary embedded store, listens on 127.0.0.1, and answers IPC requests for the
 * number of identity-provider calls it made.
 */
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { buildApp } from '../src/app.js';
import type { IdentityProvider } from '../src/clients/ports.js';
import { loadConfig } from '../src/config.js';
import { createEmbeddedDeps } from '../src/embedded/index.js';
import { seedUsers } from './seed.js';

const users = Number(process.env.BENCH_USERS ?? 10_000);
const config = loadConfig({ EMBEDDED_DB_PATH: join(mkdtempSync(join(tmpdir(), 'ums-bench-')), 'ums.sqlite'), LOG_LEVEL: 'silent' });
const deps = createEmbeddedDeps(config, pino({ level: 'silent' }));
let identityCalls = 0;
const identity: IdentityProvider = {
  ...deps.identity,
  getUsers: (ids) => {
    identityCalls += 1;
    return deps.identity.getUsers(ids);
  },
};
for (const userGroup of ['customer', 'partner']) {
  await deps.groups.saveGroup(
    { userGroup, label: userGroup, authUserCreationDisabled: false, crudSchema: { type: 'object' } },
    { actorId: 'bench', headers: {} },
  );
}
await seedUsers(deps.db, users);
const server = buildApp({ ...deps, identity }).listen(0, '127.0.0.1', () => {
  process.send!({ port: (server.address() as AddressInfo).port });
});
process.on('message', (message: { type: string }) => {
  if (message.type === 'counts') process.send!({ identityCalls });
  if (message.type === 'reset') identityCalls = 0;
  if (message.type === 'stop') server.close(() => process.exit(0));
});
