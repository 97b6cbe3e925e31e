import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import type { CircuitBreakerPolicy } from 'cockatiel';
import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { currentDeadline } from '../../deadline.js';
import type { UpstreamMetrics } from '../../ports/metrics.js';
import { UpstreamError } from '../../errors.js';
import { callUpstream, probe, sentEarlier, type UpstreamCall, type UpstreamOptions, type UpstreamReply } from '../http.js';
import type { ReadinessCheck } from '../../ports/readiness.js';
import { rateLimitReset } from '../rate-limit.js';

export interface Auth0Options {
  /** `https://{AUTH0_DOMAIN}`, or AUTH0_BASE_URL (custom domain, emulator). */
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  managementClientId: string;
  managementClientSecret: string;
  /**
   * The Management API audience: `https://{AUTH0_DOMAIN}/api/v2/`, the tenant's own domain even
   * behind a custom domain. Without AUTH0_DOMAIN, `{baseUrl}/api/v2/`.
   */
  managementAudience: string;
  dispatcher: Dispatcher;
  /** The dispatcher's timeout (AUTH0_TIMEOUT_MS). */
  timeoutMs?: number;
  /** The tenant's circuit breaker. */
  breaker?: CircuitBreakerPolicy;
  metrics?: UpstreamMetrics;
  /** Calls in flight at once against the tenant. */
  maxConcurrency: number;
  /** Retries after a 429 (waiting for the rate-limit reset) or a 5xx on an idempotent call. */
  maxRetries: number;
}

const ManagementToken = z.object({ access_token: z.string(), expires_in: z.number() });
const IDEMPOTENT = new Set(['GET', 'DELETE', 'PATCH', 'PUT']);

/**
 * Which rate limit a call's 429 is about (spec/auth0.md "Rate limits"): the Management API's are the
 * tenant's; the Authentication API counts per IP, user or e-mail (a login, a reset mail), so its
 * 429 is about that one call; the client-credentials grant is the service's own.
 */
type Limit = 'management' | 'authentication' | 'token';

/**
 * Auth0 over undici: the Authentication API as is, and the Management API with a cached
 * client-credentials token. Every call shares one concurrency cap. A Management 429 waits until
 * `x-ratelimit-reset` (or `Retry-After`) and is retried a bounded number of times; an
 * Authentication API 429 is the answer of that call alone.
 */
export class Auth0Api {
  private readonly upstream: UpstreamOptions;
  private readonly limit: ReturnType<typeof pLimit>;
  private token?: { value: string; expiresAt: number };
  /** The audiences to ask a Management token for, the one last granted first. */
  private readonly audiences: string[];
  private tokenRequest?: Promise<string>;
  /**
   * A Management 429 pauses every Management call until the rate limit resets, not only the one
   * refused: the others would only be refused too and spend the budget of the next window. An
   * Authentication API 429 pauses nothing: anyone can earn one (failing logins on purpose), and it
   * counts per IP or user, not for the tenant.
   */
  private pausedUntil = 0;

  constructor(readonly options: Auth0Options) {
    const { baseUrl, dispatcher, timeoutMs, breaker, metrics } = options;
    this.upstream = { name: 'Auth0', baseUrl, dispatcher, timeoutMs, breaker, metrics, retries: 1 };
    this.limit = pLimit(options.maxConcurrency);
    this.audiences = [...new Set([options.managementAudience, `${options.baseUrl.replace(/\/$/, '')}/api/v2/`])];
  }

  /** Readiness of the tenant: `path` answers 2xx within `timeoutMs`. */
  probe(path: string, timeoutMs: number): Promise<ReadinessCheck> {
    return probe(this.upstream, path, timeoutMs);
  }

  /** An Authentication API call (`/oauth/token`, `/dbconnections/change_password`…). */
  auth(call: UpstreamCall): Promise<UpstreamReply> {
    return this.send(call, 'authentication');
  }

  /** A Management API call (`/api/v2/...`) with the tenant token, renewed once on a 401. */
  async management(call: UpstreamCall): Promise<UpstreamReply> {
    const withToken = (token: string) =>
      this.send({ ...call, headers: { ...call.headers, authorization: `Bearer ${token}` } }, 'management');
    const token = this.cachedToken() ?? (await this.managementToken());
    const reply = await withToken(token);
    return reply.status === 401 ? withToken(await this.renewToken(token)) : reply;
  }

  /**
   * Within a request, a retry whose wait would end past the request's deadline is not made: the
   * last answer is the answer (and the breaker, shared with every call, stops a tenant that keeps
   * failing from being retried at all).
   */
  private async send(call: UpstreamCall, limit: Limit): Promise<UpstreamReply> {
    const deadline = currentDeadline() ?? Infinity;
    for (let attempt = 0; ; attempt += 1) {
      // A pause is waited out before a concurrency slot is taken: a paused Management call holding
      // one would keep the Authentication calls (logins) waiting behind it until the reset.
      const paused = limit === 'management' && this.pausedUntil > Date.now();
      const reply = await (paused ? this.gate(call, deadline) : Promise.resolve())
        .then(() => this.limit(() => callUpstream(this.upstream, call)))
        .catch((error: unknown) => {
          // An earlier attempt was answered (a 5xx, a 429): the call may have acted all the same.
          throw attempt > 0 ? sentEarlier(error) : error;
        });
      const retryable =
        (reply.status === 429 && limit !== 'authentication' && !isLockout(reply)) || (reply.status >= 500 && IDEMPOTENT.has(call.method));
      if (!retryable || attempt >= this.options.maxRetries) return reply;
      const wait = reply.status === 429 ? rateLimitWait(reply) : jitter(attempt);
      if (Date.now() + wait >= deadline) return reply;
      // A Management rate limit (with its headers) pauses every Management call; another 429 (a
      // third import job while two run, the token grant's) only this one.
      if (reply.status === 429 && limit === 'management' && reply.headers['x-ratelimit-reset'] !== undefined)
        this.pauseUntil(Date.now() + wait);
      else await sleep(wait);
    }
  }

  private pauseUntil(time: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, time);
  }

  /** Waits out a pause; a 503 at once when the pause ends past the request's deadline. */
  private async gate(call: UpstreamCall, deadline: number): Promise<void> {
    if (this.pausedUntil >= deadline) {
      const label = `${call.method} ${call.route ?? call.path}`;
      throw new UpstreamError('Auth0', label, 429, {
        unreachable: true,
        message: `Auth0 ${label} is rate limited past the request deadline (REQUEST_TIMEOUT_MS)`,
      });
    }
    while (this.pausedUntil > Date.now()) await sleep(this.pausedUntil - Date.now());
  }

  /** The Management token while it has more than 10 s to live. */
  private cachedToken(): string | undefined {
    return this.token && this.token.expiresAt - 10_000 > Date.now() ? this.token.value : undefined;
  }

  /**
   * A new token after `refused` was refused with a 401, asked first for the other audience (a
   * tenant, or a double, may grant a token for an audience its API then refuses). Calls refused
   * with the same token share the renewal; one refused with a token since replaced gets the new one.
   */
  private renewToken(refused: string): Promise<string> {
    if (this.token?.value === refused) {
      this.token = undefined;
      this.audiences.push(this.audiences.shift()!);
    }
    const current = this.cachedToken();
    return current ? Promise.resolve(current) : this.managementToken();
  }

  /** A new Management token; concurrent callers share one request. */
  private managementToken(): Promise<string> {
    this.tokenRequest ??= this.requestToken().finally(() => (this.tokenRequest = undefined));
    return this.tokenRequest;
  }

  /**
   * Client credentials for the Management API. When the tenant refuses the configured audience
   * (a 4xx) and AUTH0_BASE_URL differs from the tenant's domain, the base URL's own audience is
   * tried too (a base URL that is itself the tenant, or an emulator); the one granted is kept.
   */
  private async requestToken(): Promise<string> {
    let status = 0;
    for (const audience of this.audiences) {
      const call: UpstreamCall = {
        method: 'POST',
        path: '/oauth/token',
        body: {
          grant_type: 'client_credentials',
          client_id: this.options.managementClientId,
          client_secret: this.options.managementClientSecret,
          audience,
        },
      };
      const reply = await this.send(call, 'token');
      status = reply.status;
      const parsed = ManagementToken.safeParse(reply.body);
      if (reply.status === 200 && parsed.success) {
        this.audiences.splice(this.audiences.indexOf(audience), 1);
        this.audiences.unshift(audience);
        this.token = { value: parsed.data.access_token, expiresAt: Date.now() + parsed.data.expires_in * 1000 };
        return this.token.value;
      }
      // Auth0 refuses an audience it does not serve with 403 access_denied; any other refusal (4xx
      // but 429) may be a double's way of saying the same, so the other audience is tried too.
      if (reply.status < 400 || reply.status >= 500 || reply.status === 429) break;
    }
    throw new UpstreamError('Auth0', 'POST /oauth/token (client_credentials)', status);
  }
}

/**
 * Auth0's brute-force lockout is a 429 too (`too_many_attempts`), but no rate limit: it lasts until
 * the account is unblocked, so a retry cannot pass and would only send the password again.
 */
function isLockout(reply: UpstreamReply): boolean {
  const body = reply.body as { error?: unknown } | undefined;
  return typeof body === 'object' && body !== null && body.error === 'too_many_attempts';
}

/** Milliseconds until the rate-limit window resets (`x-ratelimit-reset` is UTC epoch seconds). */
function rateLimitWait(reply: UpstreamReply): number {
  const reset = rateLimitReset(reply);
  if (reset === undefined) return 1000;
  // A reset is a time on Auth0's clock: a little after it, not before.
  return Math.min(reset.ms + (reset.byClock ? 50 : 0), 60_000);
}

function jitter(attempt: number): number {
  const base = 200 * 2 ** attempt;
  return base + Math.random() * base;
}
