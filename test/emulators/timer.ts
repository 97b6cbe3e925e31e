/**
 * A Mia-Platform Timer Service emulator for the tests (spec/mia-platform.md §3): `POST /schedule`
 * answers `{expirationId}`, `POST /abort` answers 204 without checking the timer is pending, and a
 * poller calls the REST output mode of each due timer. Test code only.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { closeServer, dropOnFailure, listenOnLoopback, readBody } from './http.js';

export interface Timer {
  expirationId: string;
  payload: unknown;
  fireAt: number;
  outputMode: {
    type: string;
    method: string;
    protocol: string;
    hostname: string;
    port?: number;
    path: string;
    headers?: Record<string, string>;
  };
  /** 0 pending, 1 expired (called back), 2 aborted, 3 error. */
  status: 0 | 1 | 2 | 3;
  callbackStatus?: number;
}

export class TimerEmulator {
  readonly timers = new Map<string, Timer>();
  readonly requests: { path: string; body: unknown }[] = [];
  readonly failures: { path: string; status: number }[] = [];
  private server?: Server;
  private poller?: NodeJS.Timeout;
  private readonly callbacks = new AbortController();
  port = 0;

  /** `clock`: when timers are due (the service's FakeClock in tests about time); the wall clock by default. */
  constructor(private readonly clock: { now(): number } = { now: () => Date.now() }) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(pollMs = 50): Promise<this> {
    this.server = createServer(
      dropOnFailure(async (req, res) => {
        const body = JSON.parse((await readBody(req)) || '{}') as Record<string, unknown>;
        this.requests.push({ path: req.url ?? '', body });
        const failure = this.failures.findIndex((f) => f.path === req.url);
        if (failure >= 0) {
          const { status } = this.failures.splice(failure, 1)[0]!;
          return void res.writeHead(status, { 'content-type': 'application/json' }).end('{"message":"injected"}');
        }
        const [status, answer] = this.route(req.method ?? 'GET', req.url ?? '', body);
        res
          .writeHead(status, answer === undefined ? {} : { 'content-type': 'application/json' })
          .end(answer === undefined ? undefined : JSON.stringify(answer));
      }),
    );
    this.port = await listenOnLoopback(this.server);
    this.poller = setInterval(() => void this.fireDue(), pollMs);
    return this;
  }

  async stop(): Promise<void> {
    clearInterval(this.poller);
    // A callback the service never answers (its process "died" in a test) is cut, not awaited.
    this.callbacks.abort();
    await closeServer(this.server);
  }

  private route(method: string, path: string, body: Record<string, unknown>): [number, unknown] {
    if (method === 'POST' && path === '/schedule') {
      const output = body.outputMode as Timer['outputMode'] | undefined;
      const valid =
        typeof body.startDate === 'string' &&
        !Number.isNaN(Date.parse(body.startDate)) &&
        typeof body.expirationIntervalMs === 'number' &&
        typeof body.applicantService === 'string' &&
        output?.type === 'rest' &&
        ['post', 'put', 'patch', 'get', 'delete'].includes(output.method) &&
        ['http', 'https'].includes(output.protocol) &&
        typeof output.hostname === 'string' &&
        typeof output.path === 'string';
      if (!valid) return [400, { statusCode: 400, error: 'Bad Request', message: 'invalid schedule body' }];
      const expirationId = randomBytes(12).toString('hex');
      const fireAt = Date.parse(body.startDate as string) + (body.expirationIntervalMs as number);
      this.timers.set(expirationId, { expirationId, payload: body.payload ?? {}, fireAt, outputMode: output, status: 0 });
      return [200, { expirationId }];
    }
    if (method === 'POST' && path === '/abort') {
      const timer = this.timers.get(String(body.expirationId));
      if (timer) timer.status = 2;
      return [204, undefined];
    }
    return [404, { message: 'not found' }];
  }

  private async fireDue(): Promise<void> {
    for (const timer of this.timers.values()) {
      if (timer.status !== 0 || timer.fireAt > this.clock.now()) continue;
      timer.status = 1;
      const { protocol, hostname, port, path, method, headers } = timer.outputMode;
      try {
        const response = await fetch(`${protocol}://${hostname}${port ? `:${port}` : ''}${path}`, {
          method: method.toUpperCase(),
          headers: { 'content-type': 'application/json', ...headers },
          body: method === 'get' ? undefined : JSON.stringify(timer.payload),
          signal: this.callbacks.signal,
        });
        timer.callbackStatus = response.status;
        if (!response.ok) timer.status = 3;
      } catch {
        timer.status = 3;
      }
    }
  }
}
