/**
 * The Auth0 emulator of the tests in its own process (BENCH_AUTH0_RATE: Management requests per
 * second allowed, unlimited when unset). Reports its call counts over IPC.
 *
 * BENCH_AUTH0_IMMEDIATE=1 puts a front before it that answers a user search it has answered once
 * from memory, without any work: an Auth0 answering immediately. Other calls go on to the emulator.
 * Only for read-only runs (the remembered answers never change).
 */
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { request as undiciRequest } from 'undici';
import { Auth0Emulator } from '../test/emulators/auth0.js';
import { AUTH0_TEST_TENANT } from '../test/helpers/service.js';

const rate = process.env.BENCH_AUTH0_RATE ? Number(process.env.BENCH_AUTH0_RATE) : undefined;
const auth0 = await new Auth0Emulator({ ...AUTH0_TEST_TENANT, managementRatePerSecond: rate }).start();
const url = process.env.BENCH_AUTH0_IMMEDIATE ? await startImmediateFront() : auth0.url;
// The service asks its Management token for its base URL's audience: the front's, with a front.
auth0.options.managementAudiences = [`${url}/api/v2/`];
process.send!({ url });

/**
 * The immediate front, on bare TCP: a remembered search is answered with its response bytes as
 * soon as the request's head has arrived, with no HTTP server of its own in between. Each
 * connection is served one request at a time (undici does not pipeline by default); bodies come
 * with a content-length (the benchmark's JSON calls).
 */
async function startImmediateFront(): Promise<string> {
  const answers = new Map<string, Buffer>();
  const front = createTcpServer((socket) => {
    socket.setNoDelay(true);
    let pending: Buffer = Buffer.alloc(0);
    let forwarding = false;
    const drain = (): void => {
      while (!forwarding) {
        const headEnd = pending.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const request = parseHead(pending.subarray(0, headEnd).toString('latin1'));
        if (pending.length < headEnd + 4 + request.length) return;
        const body = pending.subarray(headEnd + 4, headEnd + 4 + request.length);
        pending = pending.subarray(headEnd + 4 + request.length);
        const known = request.key && answers.get(request.key);
        if (known) {
          auth0.requests.push({
            method: 'GET',
            path: '/api/v2/users',
            query: new URLSearchParams(),
            headers: request.headers,
            body: '',
            handlingMs: 0,
          });
          socket.write(known);
          continue;
        }
        forwarding = true;
        void forward(request, body).then((answer) => {
          socket.write(answer);
          forwarding = false;
          drain();
        });
      }
    };
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      drain();
    });
  });

  /** A call the front has not answered before goes on to the emulator; a search's answer is kept. */
  async function forward(request: ReturnType<typeof parseHead>, body: Buffer): Promise<Buffer> {
    const { host: _host, connection: _connection, ...headers } = request.headers;
    const reply = await undiciRequest(auth0.url + request.url, {
      method: request.method as 'GET',
      headers,
      body: body.length > 0 ? body : undefined,
    });
    const payload = Buffer.from(await reply.body.arrayBuffer());
    const type = String(reply.headers['content-type'] ?? 'application/json');
    const head = `HTTP/1.1 ${reply.statusCode} OK\r\ncontent-type: ${type}\r\ncontent-length: ${payload.length}\r\n\r\n`;
    const answer = Buffer.concat([Buffer.from(head, 'latin1'), payload]);
    if (request.key && reply.statusCode === 200) answers.set(request.key, answer);
    return answer;
  }

  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
}

/** An HTTP/1.1 request head: method, URL, headers, body length, and the key of a remembered search. */
function parseHead(head: string) {
  const [line = '', ...fields] = head.split('\r\n');
  const [method = 'GET', url = '/'] = line.split(' ');
  const headers: Record<string, string> = {};
  for (const field of fields) {
    const colon = field.indexOf(':');
    headers[field.slice(0, colon).toLowerCase()] = field.slice(colon + 1).trim();
  }
  if (headers['transfer-encoding']) throw new Error('the immediate front takes bodies with a content-length only');
  const key = method === 'GET' && url.startsWith('/api/v2/users?') ? `${headers.authorization} ${url}` : undefined;
  return { method, url, headers, length: Number(headers['content-length'] ?? 0), key };
}

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
