/**
 * An emulator of Mia-Platform's auth0-client for the tests (spec/mia-platform.md §4), with the
 * service's choices where that API is undocumented (see src/clients/auth0-client/client.ts).
 * Test code only.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { closeServer, dropOnFailure, listenOnLoopback, readBody } from './http.js';
import { ImportJobs, processImport } from './users-import.js';

interface ClientUser {
  user_id: string;
  email?: string;
  username?: string;
  password: string;
  blocked: boolean;
  email_verified: boolean;
  logins_count: number;
  user_metadata?: Record<string, unknown>;
}

export class Auth0ClientEmulator {
  readonly users = new Map<string, ClientUser>();
  readonly requests: { method: string; path: string; headers: IncomingMessage['headers']; body: string }[] = [];
  readonly passwordChanges: string[] = [];
  /** Answers the next matching requests get instead of their own (Auth0's 400s and 429s, as it passes them on). */
  private readonly failures: { route: RegExp; status: number; body?: unknown; headers?: Record<string, string> }[] = [];
  /** When true, requests are read (and recorded) and never answered (a hung auth0-client). */
  hang = false;
  /**
   * What `PATCH /users/:id` answers: Auth0's updated user (200), or 204 with no body. Its answer is
   * not documented (spec/mia-platform.md §4), so the service must work with either.
   */
  patchAnswer: 'user' | 'empty' = 'user';
  private readonly accessTokens = new Map<string, string>();
  /** Refresh tokens and the client (`client-type`, '' for the default client) each was issued to. */
  private readonly refreshTokens = new Map<string, { userId: string; used: boolean; client: string }>();
  /** Website clients' sessions, by `sid` cookie (the auth0-client keeps them in Redis), with their client. */
  readonly sessions = new Map<string, { userId: string; client: string }>();
  readonly imports = new ImportJobs(20);
  private server?: Server;
  port = 0;

  /**
   * The connection the client is configured with (`defaultCreateUserConnection`), and the client
   * types (`client-type` header) of its clients with the `website` scope.
   */
  constructor(
    readonly connection = 'Username-Password-Authentication',
    readonly websiteClients: readonly string[] = ['backoffice'],
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer(
      dropOnFailure(async (req, res) => {
        const raw = await readBody(req);
        const url = new URL(req.url ?? '/', 'http://client');
        this.requests.push({ method: req.method ?? 'GET', path: url.pathname, headers: req.headers, body: raw });
        if (this.hang) return;
        const failure = this.failures.findIndex((f) => f.route.test(`${req.method} ${url.pathname}`));
        const injected = failure >= 0 ? this.failures.splice(failure, 1)[0]! : undefined;
        const [status, body, headers = {}] = injected
          ? [injected.status, injected.body, injected.headers]
          : this.route(req.method ?? 'GET', url, raw, req.headers);
        res
          .writeHead(status, { 'content-type': 'application/json', ...headers })
          .end(body === undefined ? undefined : JSON.stringify(body));
      }),
    );
    this.port = await listenOnLoopback(this.server);
    return this;
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }

  /** The next `method path` request is answered `status` with `reply`'s body and headers. */
  failNext(method: string, path: RegExp, status: number, reply: { body?: unknown; headers?: Record<string, string> } = {}): void {
    this.failures.push({ route: new RegExp(`^${method} ${path.source}`), status, ...reply });
  }

  private route(method: string, url: URL, raw: string, headers: IncomingMessage['headers']): [number, unknown, Record<string, string>?] {
    const path = url.pathname;
    // The client is picked by the `client-type` header (spec/mia-platform.md §4); none: the default client.
    const client = typeof headers['client-type'] === 'string' ? headers['client-type'] : '';
    const json = () => (raw ? (JSON.parse(raw) as Record<string, unknown>) : {});
    // Mia-Platform's probe routes, as every platform service has them.
    if (method === 'GET' && (path === '/-/healthz' || path === '/-/ready')) return [200, { status: 'OK' }];
    if (method === 'POST' && path === '/oauth/token') {
      if (!String(headers['content-type']).includes('application/x-www-form-urlencoded')) return [400, { message: 'form expected' }];
      const form = new URLSearchParams(raw);
      const user = [...this.users.values()].find((u) => u.username === form.get('username') || u.email === form.get('username'));
      if (form.get('grant_type') !== 'password' || !user || user.password !== form.get('password') || user.blocked)
        return [403, { message: 'Wrong email or password.' }];
      user.logins_count += 1;
      const tokens = this.issue(user.user_id, client);
      if (!this.websiteClients.includes(client)) return [200, tokens];
      // A website client: the session stays here, the browser gets only its cookie.
      const sid = randomBytes(32).toString('base64url');
      this.sessions.set(sid, { userId: user.user_id, client });
      return [200, undefined, { 'set-cookie': `sid=${sid}; Max-Age=86400; Path=/; HttpOnly; Secure; SameSite=Lax` }];
    }
    if (method === 'POST' && path === '/refreshtoken') {
      const entry = this.refreshTokens.get(String(json().refresh_token));
      const bearer = /^Bearer (.+)$/.exec(String(headers.authorization ?? ''))?.[1];
      // Auth0 binds a refresh token to the application that got it: another client cannot use it.
      if (!entry || entry.used || entry.client !== client || !bearer || this.accessTokens.get(bearer) !== entry.userId)
        return [401, { message: 'invalid refresh token' }];
      // Auth0 refuses to refresh a blocked user's tokens.
      if (this.users.get(entry.userId)?.blocked) return [401, { message: 'user is blocked' }];
      entry.used = true;
      return [200, this.issue(entry.userId, client)];
    }
    if (method === 'GET' && path === '/logout') {
      const sid = sidOf(headers) ?? '';
      if (this.sessions.get(sid)?.client !== client) return [401, { message: 'unauthorized' }];
      this.sessions.delete(sid);
      return [204, undefined, { 'set-cookie': 'sid=; Max-Age=0; Path=/' }];
    }
    if (method === 'GET' && path === '/userinfo') {
      const sid = sidOf(headers);
      // A session is its website client's: asked through another client, it is unknown.
      const session = sid ? this.sessions.get(sid) : undefined;
      const userId = sid
        ? session?.client === client
          ? session.userId
          : undefined
        : this.accessTokens.get(/^Bearer (.+)$/.exec(String(headers.authorization ?? ''))?.[1] ?? '');
      const user = userId && this.users.get(userId);
      if (!user) return [401, { message: 'unauthorized' }];
      // Auth0's claims, a custom one (customClaimsNamespaces) among them.
      return [
        200,
        {
          sub: user.user_id,
          email: user.email,
          nickname: user.username,
          email_verified: user.email_verified,
          picture: 'https://s.gravatar.com/avatar/0.png',
          'https://ums.example/tenant': 'acme',
        },
      ];
    }
    if (method === 'POST' && path === '/change-password') {
      const userId = String(json().user_id);
      if (!this.users.has(userId)) return [404, { message: 'user not found' }];
      this.passwordChanges.push(userId);
      return [204, undefined];
    }
    if (method === 'POST' && path === '/users/import') return this.startImport(json());
    const status = /^\/users\/import\/status\/([^/]+)(\/errors)?$/.exec(path);
    if (status && method === 'GET') return this.imports.answer(decodeURIComponent(status[1]!), status[2] !== undefined);
    if (method === 'GET' && path === '/users') {
      const ids = new Set((url.searchParams.get('user_id') ?? '').split(','));
      return [200, [...this.users.values()].filter((u) => ids.has(u.user_id)).map(visible)];
    }
    if (method === 'POST' && path === '/users') {
      const body = json();
      if ([...this.users.values()].some((u) => u.email === body.email || (body.username && u.username === body.username))) {
        return [409, { statusCode: 409, error: 'Conflict', message: 'The user already exists.' }];
      }
      const user: ClientUser = {
        user_id: `auth0|${randomBytes(12).toString('hex')}`,
        email: body.email as string,
        username: body.username as string | undefined,
        password: String(body.password),
        blocked: body.blocked === true,
        email_verified: false,
        logins_count: 0,
      };
      this.users.set(user.user_id, user);
      return [201, visible(user)];
    }
    const match = /^\/users\/(.+)$/.exec(path);
    const user = match && this.users.get(decodeURIComponent(match[1]!));
    if (match && !user) return [404, { message: 'The user does not exist.' }];
    if (user && method === 'PATCH') {
      Object.assign(user, Object.fromEntries(Object.entries(json()).filter(([key]) => ['email', 'username', 'blocked'].includes(key))));
      return this.patchAnswer === 'user' ? [200, visible(user)] : [204, undefined];
    }
    if (user && method === 'DELETE') {
      this.users.delete(user.user_id);
      return [204, undefined];
    }
    return [404, { message: 'not found' }];
  }

  /** Auth0's users-imports fields as JSON; the connection by name (its id is refused, as documented). */
  private startImport(body: Record<string, unknown>): [number, unknown] {
    if (body.connection_id !== undefined) return [400, { message: 'connection_id is not allowed: use connection' }];
    if (body.connection !== this.connection) return [400, { message: `connection ${String(body.connection)} is not supported` }];
    if (!Array.isArray(body.users)) return [400, { message: 'users must be an array' }];
    const rows = body.users as unknown[];
    const fields = {
      connection_id: 'con_0000000000000000',
      connection: this.connection,
      upsert: body.upsert === true,
      send_completion_email: body.send_completion_email !== false,
    };
    return this.imports.start(fields, (job) => {
      const { summary, errors } = processImport(rows, job.upsert, {
        find: (row) =>
          [...this.users.values()].find(
            (user) => user.email === row.email || user.user_id === row.userId || (row.username && user.username === row.username),
          ),
        update: (user, row) => Object.assign(user, typeof row.blocked === 'boolean' ? { blocked: row.blocked } : {}),
        insert: (row) => {
          const user: ClientUser = {
            user_id: row.userId ?? `auth0|${randomBytes(12).toString('hex')}`,
            email: row.email,
            username: row.username,
            password: randomBytes(32).toString('hex'),
            blocked: row.blocked === true,
            email_verified: row.email_verified === true,
            logins_count: 0,
          };
          this.users.set(user.user_id, user);
        },
      });
      Object.assign(job, { status: 'completed', summary, errors });
    });
  }

  private issue(userId: string, client: string) {
    const accessToken = randomBytes(16).toString('hex');
    const refreshToken = randomBytes(16).toString('hex');
    this.accessTokens.set(accessToken, userId);
    this.refreshTokens.set(refreshToken, { userId, used: false, client });
    return { accessToken, refreshToken, idToken: 'id-token', expireAt: Math.floor(Date.now() / 1000) + 3600 };
  }
}

function sidOf(headers: IncomingMessage['headers']): string | undefined {
  return /(?:^|;\s*)sid=([^;]+)/.exec(String(headers.cookie ?? ''))?.[1];
}

function visible(user: ClientUser) {
  const { password: _password, ...rest } = user;
  return rest;
}
