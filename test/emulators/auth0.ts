/**
 * An Auth0 tenant emulator for the tests, written from spec/auth0.md: the password-realm, refresh
 * (rotation with reuse detection) and client-credentials grants (checking the audience), RS256
 * tokens with a JWKS, blocked users and brute-force lockout, Management users CRUD with Auth0's
 * error envelopes, Lucene `user_id:(…)` / `email:"…"` search (per_page ≤ 100, at most 50 without
 * `page`, `fields`), a 414 past `maxUriLength`, change_password, 429s with
 * the rate-limit headers when a request budget is exceeded, connections by name, and users-imports
 * jobs (multipart, at most 2 active, 500 KB files, upsert, per-row errors). Test code only.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeServer, dropOnFailure, listenOnLoopback, readBody } from './http.js';
import { type EmulatedJob, ImportJobs, processImport } from './users-import.js';
import { exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose';

export interface EmulatedUser {
  user_id: string;
  email?: string;
  username?: string;
  password: string;
  blocked: boolean;
  email_verified: boolean;
  created_at: string;
  updated_at: string;
  last_login?: string;
  logins_count: number;
  /** Auth0's default: the e-mail's local part (or the one given at creation). */
  nickname?: string;
  user_metadata?: Record<string, unknown>;
  app_metadata?: Record<string, unknown>;
  failures: number;
}

export interface Auth0EmulatorOptions {
  clientId: string;
  clientSecret: string;
  connection: string;
  audience: string;
  /** Like an Auth0 database connection without "requires username": a username is refused. */
  usernamesRefused?: boolean;
  /** Management requests allowed per second (token bucket); unlimited when unset. */
  managementRatePerSecond?: number;
  accessTokenSeconds?: number;
  /** Audiences a Management token may be asked for (default: `{url}/api/v2/`); others get 403. */
  managementAudiences?: string[];
  /** Grant a token for any audience, and refuse the Management calls (401) of those not in managementAudiences. */
  grantAnyAudience?: boolean;
  /** How long an import job stays pending, then processing, before it completes (default 20 ms each). */
  importStepMs?: number;
}

const MAX_IMPORT_BYTES = 500 * 1024;

type Reply = [number, unknown, Record<string, string>?];

export class Auth0Emulator {
  readonly users = new Map<string, EmulatedUser>();
  readonly requests: {
    method: string;
    path: string;
    query: URLSearchParams;
    headers: IncomingMessage['headers'];
    body: unknown;
    /** The emulator's own time on the request, from its arrival to its answer written (benchmarks). */
    handlingMs?: number;
  }[] = [];
  readonly passwordEmails: string[] = [];
  /** Users the (eventually consistent) search does not see yet. */
  readonly hiddenFromSearch = new Set<string>();
  /** How many requests were refused with 429. */
  rateLimitedCount = 0;
  /** Longest request URI answered; a longer one gets 414 Request-URI Too Large (Auth0 documents no figure). */
  maxUriLength = Infinity;
  /** Answer at most 50 users per search even with `page` (a reading of the spec an Auth0 double may take). */
  pageIgnored = false;
  readonly failures: { route: RegExp; status: number; body?: unknown; headers?: Record<string, string> }[] = [];
  /** When true, requests are read (and recorded) and never answered (a hung tenant). */
  hang = false;
  readonly imports: ImportJobs;
  /** The id of the database connection (`options.connection`). */
  readonly connectionId = `con_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x').slice(0, 16)}`;
  private readonly refreshTokens = new Map<string, { userId: string; family: string; used: boolean }>();
  private readonly revokedFamilies = new Set<string>();
  private server?: Server;
  private keys?: { privateKey: CryptoKey; publicKey: CryptoKey; jwk: JWK };
  private bucket = { tokens: 0, refilledAt: 0 };
  port = 0;

  constructor(readonly options: Auth0EmulatorOptions) {
    this.imports = new ImportJobs(options.importStepMs ?? 20);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private get managementAudiences(): string[] {
    return this.options.managementAudiences ?? [`${this.url}/api/v2/`];
  }

  async start(): Promise<this> {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    this.keys = { privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid: 'emulator-key', alg: 'RS256', use: 'sig' } };
    this.bucket = { tokens: this.options.managementRatePerSecond ?? 0, refilledAt: Date.now() };
    this.server = createServer(dropOnFailure((req, res) => this.handle(req, res)));
    this.port = await listenOnLoopback(this.server);
    return this;
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }

  /** The next matching request is answered `status`, with Auth0's envelope or `reply`'s body and headers. */
  failNext(method: string, path: RegExp, status: number, reply: { body?: unknown; headers?: Record<string, string> } = {}): void {
    this.failures.push({ route: new RegExp(`^${method} ${path.source}`), status, ...reply });
  }

  /** Adds a user straight into the tenant (as if created on Auth0's side). */
  addUser(user: { email?: string; username?: string; password: string; blocked?: boolean; nickname?: string }): EmulatedUser {
    const now = new Date().toISOString();
    const created: EmulatedUser = {
      user_id: `auth0|${randomBytes(12).toString('hex')}`,
      blocked: false,
      email_verified: false,
      created_at: now,
      updated_at: now,
      logins_count: 0,
      failures: 0,
      nickname: user.email?.split('@')[0],
      ...user,
    };
    this.users.set(created.user_id, created);
    return created;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://auth0');
    const raw = await readBody(req);
    const multipart = req.headers['content-type']?.startsWith('multipart/form-data');
    const body = multipart ? await parseMultipart(raw, req.headers['content-type']!) : parseBody(raw, req.headers['content-type']);
    const request: Auth0Emulator['requests'][number] = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
    };
    this.requests.push(request);
    if (this.hang) return;
    try {
      await this.answer(req, res, url, body);
    } finally {
      request.handlingMs = performance.now() - started;
    }
  }

  private async answer(req: IncomingMessage, res: ServerResponse, url: URL, body: Record<string, unknown>): Promise<void> {
    const failure = this.failures.findIndex((f) => f.route.test(`${req.method} ${url.pathname}`));
    let reply: Reply;
    if ((req.url ?? '').length > this.maxUriLength) {
      reply = [414, { statusCode: 414, error: 'Request-URI Too Large', message: 'Request-URI Too Large' }];
    } else if (failure >= 0) {
      const { status, body: answer, headers } = this.failures.splice(failure, 1)[0]!;
      reply = [status, answer ?? { statusCode: status, error: 'Injected', message: 'injected failure' }, headers];
    } else {
      reply = await this.route(req.method ?? 'GET', url, body, req.headers);
    }
    const [status, answer, headers = {}] = reply;
    if (status === 204 || answer === undefined) return void res.writeHead(status, headers).end();
    const text = typeof answer === 'string' ? answer : JSON.stringify(answer);
    res.writeHead(status, { 'content-type': typeof answer === 'string' ? 'text/plain' : 'application/json', ...headers }).end(text);
  }

  private async route(method: string, url: URL, body: Record<string, unknown>, headers: IncomingMessage['headers']): Promise<Reply> {
    const path = url.pathname;
    if (method === 'GET' && path === '/.well-known/jwks.json') return [200, { keys: [this.keys!.jwk] }];
    if (method === 'POST' && path === '/oauth/token') return this.token(body);
    if (method === 'POST' && path === '/oauth/revoke') return this.revoke(body);
    if (method === 'POST' && path === '/dbconnections/change_password') return this.changePassword(body);
    if (path.startsWith('/api/v2/')) {
      if (!(await this.managementAuthorized(headers.authorization)))
        return [401, { statusCode: 401, error: 'Unauthorized', message: 'Invalid token', errorCode: 'invalid_token' }];
      const limited = this.rateLimited();
      if (limited) return limited;
      return this.management(method, path.slice('/api/v2'.length), url.searchParams, body);
    }
    return [404, { statusCode: 404, error: 'Not Found', message: 'Not Found' }];
  }

  private async token(body: Record<string, unknown>): Promise<Reply> {
    if (body.client_id !== this.options.clientId || body.client_secret !== this.options.clientSecret) {
      return [401, { error: 'access_denied', error_description: 'Unauthorized' }];
    }
    switch (body.grant_type) {
      case 'client_credentials': {
        const audience = String(body.audience ?? '');
        if (!this.options.grantAnyAudience && !this.managementAudiences.includes(audience)) {
          return [403, { error: 'access_denied', error_description: `Service not enabled within domain: ${audience}` }];
        }
        return [
          200,
          {
            access_token: await this.sign({ sub: `${this.options.clientId}@clients`, aud: audience, gty: 'client-credentials' }),
            token_type: 'Bearer',
            expires_in: 86_400,
          },
        ];
      }
      case 'http://auth0.com/oauth/grant-type/password-realm':
        return this.passwordRealm(body);
      case 'refresh_token':
        return this.refresh(String(body.refresh_token ?? ''));
      default:
        return [
          403,
          { error: 'unauthorized_client', error_description: `Grant type '${String(body.grant_type)}' not allowed for the client.` },
        ];
    }
  }

  private async passwordRealm(body: Record<string, unknown>): Promise<Reply> {
    if (body.realm !== this.options.connection) return [400, { error: 'invalid_request', error_description: 'connection does not exist' }];
    const login = String(body.username ?? '').toLowerCase();
    const user = [...this.users.values()].find((u) => u.username === body.username || u.email?.toLowerCase() === login);
    if (user && user.failures >= 10) {
      return [
        429,
        { error: 'too_many_attempts', error_description: 'Your account has been blocked after multiple consecutive login attempts.' },
      ];
    }
    if (!user || user.password !== body.password) {
      if (user) user.failures += 1;
      return [403, { error: 'invalid_grant', error_description: 'Wrong email or password.' }];
    }
    if (user.blocked) return [401, { error: 'unauthorized', error_description: 'user is blocked' }];
    Object.assign(user, { failures: 0, last_login: new Date().toISOString(), logins_count: user.logins_count + 1 });
    const offline = String(body.scope ?? '')
      .split(' ')
      .includes('offline_access');
    return [200, await this.tokens(user, offline ? randomUUID() : undefined)];
  }

  /** `POST /oauth/revoke`: the refresh token's family ends; 200 and no body, known token or not (spec/auth0.md §1). */
  private revoke(body: Record<string, unknown>): Reply {
    if (body.client_id !== this.options.clientId || body.client_secret !== this.options.clientSecret) {
      return [401, { error: 'access_denied', error_description: 'Unauthorized' }];
    }
    if (typeof body.token !== 'string') return [400, { error: 'invalid_request', error_description: 'token is required' }];
    const entry = this.refreshTokens.get(body.token);
    if (entry) this.revokedFamilies.add(entry.family);
    return [200, undefined];
  }

  /** A token signed with the tenant's key, as Auth0 signs its ID tokens and other APIs' tokens (tests of what the service accepts). */
  signToken(claims: Record<string, unknown>, expiresIn = 3600): Promise<string> {
    return this.sign(claims, expiresIn);
  }

  private async refresh(token: string): Promise<Reply> {
    const entry = this.refreshTokens.get(token);
    const invalid: Reply = [403, { error: 'invalid_grant', error_description: 'Unknown or invalid refresh token.' }];
    if (!entry || this.revokedFamilies.has(entry.family)) return invalid;
    if (entry.used) {
      this.revokedFamilies.add(entry.family);
      return invalid;
    }
    entry.used = true;
    const user = this.users.get(entry.userId);
    if (!user) return invalid;
    if (user.blocked) return [403, { error: 'invalid_grant', error_description: 'user is blocked' }];
    return [200, await this.tokens(user, entry.family)];
  }

  private async tokens(user: EmulatedUser, family: string | undefined) {
    const expiresIn = this.options.accessTokenSeconds ?? 86_400;
    const answer: Record<string, unknown> = {
      access_token: await this.sign(
        // Auth0's access tokens name the application they were issued to (azp); two logins within
        // one second get two tokens (jti), as two sessions do.
        {
          sub: user.user_id,
          aud: this.options.audience,
          azp: this.options.clientId,
          scope: 'openid profile email offline_access',
          jti: randomUUID(),
        },
        expiresIn,
      ),
      token_type: 'Bearer',
      expires_in: expiresIn,
    };
    if (family) {
      const refreshToken = randomBytes(24).toString('base64url');
      this.refreshTokens.set(refreshToken, { userId: user.user_id, family, used: false });
      answer.refresh_token = refreshToken;
    }
    return answer;
  }

  private changePassword(body: Record<string, unknown>): Reply {
    if (body.client_id !== this.options.clientId || body.connection !== this.options.connection || typeof body.email !== 'string') {
      return [400, { error: 'invalid_request', error_description: 'email and connection are required' }];
    }
    this.passwordEmails.push(body.email);
    return [200, "We've just sent you an email to reset your password."];
  }

  private management(method: string, path: string, query: URLSearchParams, body: Record<string, unknown>): Reply {
    const userMatch = /^\/users\/([^/]+)$/.exec(path);
    const id = userMatch ? decodeURIComponent(userMatch[1]!) : undefined;
    if (method === 'POST' && path === '/users') return this.createUser(body);
    if (method === 'GET' && path === '/users') return this.search(query);
    if (id && method === 'GET') return this.users.has(id) ? [200, userView(query)(this.users.get(id)!)] : notFound();
    if (method === 'GET' && path === '/connections') {
      const all = [{ id: this.connectionId, name: this.options.connection, strategy: 'auth0' }];
      const name = query.get('name');
      return [200, all.filter((connection) => !name || connection.name === name).map(picker(query))];
    }
    if (method === 'POST' && path === '/jobs/users-imports') return this.startImport(body);
    const job = /^\/jobs\/([^/]+)(\/errors)?$/.exec(path);
    if (job && method === 'GET') return this.imports.answer(decodeURIComponent(job[1]!), job[2] !== undefined);
    if (id && method === 'PATCH') return this.updateUser(id, body);
    if (id && method === 'DELETE') {
      this.users.delete(id);
      return [204, undefined];
    }
    const block = /^\/user-blocks\/([^/]+)$/.exec(path);
    if (block && method === 'DELETE') {
      const user = this.users.get(decodeURIComponent(block[1]!));
      if (user) user.failures = 0;
      return [204, undefined];
    }
    return [404, { statusCode: 404, error: 'Not Found', message: 'Not Found' }];
  }

  private createUser(body: Record<string, unknown>): Reply {
    if (body.connection !== this.options.connection) return badBody('connection does not exist');
    if (typeof body.email !== 'string' || !body.email.includes('@')) return badBody('Missing required property: email');
    if (typeof body.password !== 'string' || body.password.length < 8) return badBody('PasswordStrengthError: Password is too weak');
    if (body.username !== undefined && this.options.usernamesRefused)
      return badBody('Cannot set username for connection without requires_username');
    if (this.taken(body.email, body.username as string | undefined)) return conflict();
    const user = this.addUser({
      email: body.email,
      username: body.username as string | undefined,
      password: body.password,
      blocked: body.blocked === true,
      ...(typeof body.nickname === 'string' ? { nickname: body.nickname } : {}),
    });
    return [201, publicUser(user)];
  }

  private updateUser(id: string, body: Record<string, unknown>): Reply {
    const user = this.users.get(id);
    if (!user) return notFound();
    if ((body.email !== undefined || body.username !== undefined) && body.connection !== this.options.connection) {
      return badBody('connection is required to update email or username');
    }
    if (this.taken(body.email as string | undefined, body.username as string | undefined, id)) return conflict();
    for (const field of ['email', 'username', 'blocked', 'email_verified'] as const) {
      if (body[field] !== undefined) Object.assign(user, { [field]: body[field] });
    }
    user.updated_at = new Date().toISOString();
    return [200, publicUser(user)];
  }

  private search(query: URLSearchParams): Reply {
    const perPage = Number(query.get('per_page') ?? 50);
    if (perPage > 100) return badBody('per_page must be <= 100', 'invalid_query_string');
    if (query.get('search_engine') !== 'v3') return badBody('search_engine v3 is required', 'invalid_query_string');
    const q = query.get('q') ?? '';
    const terms = /^(user_id|email):\((.*)\)$/.exec(q) ?? /^(user_id|email):(".*")$/.exec(q);
    if (!terms) return badBody(`unsupported query: ${q}`, 'invalid_query_string');
    const values = new Set([...terms[2]!.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1')));
    const field = terms[1] as 'user_id' | 'email';
    const candidates = field === 'user_id' ? [...values].flatMap((id) => this.users.get(id) ?? []) : [...this.users.values()];
    const found = candidates.filter((user) => values.has(String(user[field] ?? '')) && !this.hiddenFromSearch.has(user.user_id));
    // Without `page`, at most 50 results whatever per_page says.
    const limit = query.has('page') && !this.pageIgnored ? perPage : Math.min(perPage, 50);
    return [200, found.slice(0, limit).map(userView(query))];
  }

  private startImport(form: Record<string, unknown>): Reply {
    const connectionId = String(form.connection_id ?? '');
    if (!/^con_[A-Za-z0-9]{16}$/.test(connectionId)) {
      return badBody(`'String does not match pattern ^con_[A-Za-z0-9]{16}$' on property connection_id`);
    }
    if (connectionId !== this.connectionId) {
      return [
        400,
        { statusCode: 400, error: 'Bad Request', message: 'The connection does not exist.', errorCode: 'inexistent_connection' },
      ];
    }
    if (typeof form.users !== 'string') return badBody('Missing required property: users');
    if (Buffer.byteLength(form.users) > MAX_IMPORT_BYTES) {
      return [
        413,
        { statusCode: 413, error: 'Request Entity Too Large', message: 'Payload content length greater than maximum allowed: 512000' },
      ];
    }
    let rows: unknown;
    try {
      rows = JSON.parse(form.users);
    } catch {
      return badBody('Users file must be an array of users');
    }
    if (!Array.isArray(rows)) return badBody('Users file must be an array of users');
    const fields = {
      connection_id: connectionId,
      connection: this.options.connection,
      upsert: form.upsert === 'true',
      send_completion_email: form.send_completion_email !== 'false',
      ...(typeof form.external_id === 'string' && { external_id: form.external_id }),
    };
    return this.imports.start(fields, (job) => this.runImport(job, rows as unknown[]));
  }

  private runImport(job: EmulatedJob, rows: unknown[]): void {
    const { summary, errors } = processImport(rows, job.upsert, {
      find: (row) =>
        [...this.users.values()].find(
          (candidate) =>
            candidate.email?.toLowerCase() === row.email.toLowerCase() ||
            (row.userId !== undefined && candidate.user_id === row.userId) ||
            (row.username !== undefined && candidate.username === row.username),
        ),
      update: (existing, row) => {
        for (const key of ['blocked', 'email_verified'] as const)
          if (typeof row[key] === 'boolean') Object.assign(existing, { [key]: row[key] });
        existing.updated_at = new Date().toISOString();
      },
      insert: (row) => {
        const created = this.addUser({
          email: row.email,
          ...(row.username !== undefined && { username: row.username }),
          // Imported without a password hash: nobody can log in until the password is reset.
          password: randomBytes(32).toString('hex'),
          blocked: row.blocked === true,
        });
        created.email_verified = row.email_verified === true;
        if (row.userId) {
          this.users.delete(created.user_id);
          created.user_id = row.userId;
          this.users.set(row.userId, created);
        }
      },
    });
    Object.assign(job, { status: 'completed', summary, errors });
  }

  private taken(email: string | undefined, username: string | undefined, except?: string): boolean {
    return [...this.users.values()].some(
      (u) => u.user_id !== except && ((email && u.email === email) || (username && u.username === username)),
    );
  }

  private rateLimited(): Reply | undefined {
    const rate = this.options.managementRatePerSecond;
    if (!rate) return undefined;
    const now = Date.now();
    this.bucket.tokens = Math.min(rate, this.bucket.tokens + ((now - this.bucket.refilledAt) / 1000) * rate);
    this.bucket.refilledAt = now;
    // The epoch second by which a token is back (the header has a resolution of one second).
    const refillMs = Math.max(0, ((1 - this.bucket.tokens) / rate) * 1000);
    const headers = { 'x-ratelimit-limit': String(rate), 'x-ratelimit-reset': String(Math.ceil((now + refillMs) / 1000)) };
    if (this.bucket.tokens < 1) {
      this.rateLimitedCount += 1;
      const message = 'Too many requests. Check the X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset headers.';
      return [
        429,
        { statusCode: 429, error: 'Too Many Requests', message, errorCode: 'too_many_requests' },
        { ...headers, 'x-ratelimit-remaining': '0' },
      ];
    }
    this.bucket.tokens -= 1;
    return undefined;
  }

  /** Management tokens already verified, so a call costs a lookup, not an RSA verification. */
  private readonly verifiedTokens = new Set<string>();

  private async managementAuthorized(authorization: string | undefined): Promise<boolean> {
    const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    if (!token) return false;
    if (this.verifiedTokens.has(token)) return true;
    try {
      await jwtVerify(token, this.keys!.publicKey, { audience: this.managementAudiences });
      this.verifiedTokens.add(token);
      return true;
    } catch {
      return false;
    }
  }

  private sign(claims: Record<string, unknown>, expiresIn = 86_400): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'emulator-key' })
      .setIssuer(`${this.url}/`)
      .setIssuedAt()
      .setExpirationTime(`${expiresIn}s`)
      .sign(this.keys!.privateKey);
  }
}

function publicUser(user: EmulatedUser) {
  return {
    user_id: user.user_id,
    email: user.email,
    username: user.username,
    blocked: user.blocked,
    email_verified: user.email_verified,
    created_at: user.created_at,
    updated_at: user.updated_at,
    last_login: user.last_login,
    logins_count: user.logins_count,
    nickname: user.nickname,
    user_metadata: user.user_metadata,
    app_metadata: user.app_metadata,
    identities: [{ connection: 'db', user_id: user.user_id.replace('auth0|', ''), provider: 'auth0', isSocial: false }],
  };
}

/** `fields` (comma-separated) with `include_fields` (default true) keeps or drops those properties. */
function picker(query: URLSearchParams): <T extends object>(value: T) => Partial<T> {
  const fields = query.get('fields')?.split(',');
  if (!fields) return (value) => value;
  if (query.get('include_fields') === 'false') {
    const dropped = new Set(fields);
    return (value) => Object.fromEntries(Object.entries(value).filter(([key]) => !dropped.has(key))) as Partial<typeof value>;
  }
  return (value) => {
    const kept: Record<string, unknown> = {};
    for (const field of fields) if (field in value) kept[field] = (value as Record<string, unknown>)[field];
    return kept as Partial<typeof value>;
  };
}

/** Users as the Management API shows them, with `fields` applied (decided once per request). */
function userView(query: URLSearchParams): (user: EmulatedUser) => object {
  const pick = picker(query);
  return (user) => pick(publicUser(user));
}

/** Multipart form fields as strings (a file part as its text). */
async function parseMultipart(raw: string, contentType: string): Promise<Record<string, unknown>> {
  const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
  const fields: Record<string, unknown> = {};
  for (const [name, value] of form) fields[name] = typeof value === 'string' ? value : await value.text();
  return fields;
}

function parseBody(raw: string, contentType: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  if (contentType?.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw));
  try {
    return JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return {};
  }
}

function notFound(): Reply {
  return [404, { statusCode: 404, error: 'Not Found', message: 'The user does not exist.', errorCode: 'inexistent_user' }];
}

function conflict(): Reply {
  return [409, { statusCode: 409, error: 'Conflict', message: 'The user already exists.', errorCode: 'auth0_idp_error' }];
}

function badBody(message: string, errorCode = 'invalid_body'): Reply {
  return [400, { statusCode: 400, error: 'Bad Request', message: `Payload validation error: ${message}`, errorCode }];
}
