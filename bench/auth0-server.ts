/**
 * The Auth0 emulator of the tests in its own process (BENCH_AUTH0_RATE: Management requests per
 * second allowed, unlimited when unset). Reports its call counts over IPC.
 */
import { Auth0Emulator } from '../test/emulators/auth0.js';
import { AUTH0_TEST_TENANT } from '../test/helpers/service.js';

const rate = process.env.BENCH_AUTH0_RATE ? Number(process.env.BENCH_AUTH0_RATE) : undefined;
const auth0 = await new Auth0Emulator({ ...AUTH0_TEST_TENANT, managementRatePerSecond: rate }).start();
process.send!({ url: auth0.url });
process.on('message', (message: { type: string }) => {
  if (message.type === 'counts') {
    const management = auth0.requests.filter((r) => r.path.startsWith('/api/v2/'));
    process.send!({
      managementCalls: management.length,
      searches: management.filter((r) => r.method === 'GET' && r.path === '/api/v2/users').length,
      rateLimited: auth0.rateLimitedCount,
      users: auth0.users.size,
      distinctEmails: new Set([...auth0.users.values()].map((u) => u.email)).size,
    });
  }
  // The emulator's own time on each search, in order (the benchmark groups them by page).
  if (message.type === 'searchTimes') {
    process.send!(auth0.requests.filter((r) => r.method === 'GET' && r.path === '/api/v2/users').map((r) => r.handlingMs!));
  }
  if (message.type === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.send!({ cpuMicros: user + system });
  }
  if (message.type === 'reset') auth0.requests.length = 0;
  if (message.type === 'stop') void auth0.stop().then(() => process.exit(0));
});
