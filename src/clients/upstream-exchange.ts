import type { CircuitBreakerPolicy } from 'cockatiel';
import { type Dispatcher, type FormData, util } from 'undici';
import { currentRequest } from '../deadline.js';
import { InvalidInputError } from '../errors.js';
import type { UpstreamMetrics } from '../ports/metrics.js';
import { wellFormed } from './path-segment.js';

/*
 * One HTTP exchange with an upstream, below http.ts's retries, breaker and deadline: the request
 * built from an UpstreamCall, sent straight to the dispatcher, and its whole answer read.
 */

/** One upstream service (CRUD, Auth0, Timer, Rönd): where it is and how to reach it. */
export interface UpstreamOptions {
  /** Named in error messages: "CRUD PATCH /users/:id responded with a 404 status code". */
  name: string;
  baseUrl: string;
  dispatcher: Dispatcher;
  /** Attempts after the first for a call that may be retried. */
  retries?: number;
  /**
   * The longest one attempt may take: the dispatcher's own timeouts (createDispatcher), or less
   * (a readiness probe). An attempt made for a request is also cut at the request's deadline.
   */
  timeoutMs?: number;
  /** The upstream's circuit breaker, shared by every call to it (createBreaker). */
  breaker?: CircuitBreakerPolicy;
  /** Where each call's duration and outcome is counted (`ums_upstream_request_duration_seconds`). */
  metrics?: UpstreamMetrics;
  /**
   * The longest request target (path and query) the upstream takes; a longer call is refused
   * unsent as the caller's input (InvalidInputError). Unset: no limit (Auth0 answers 414 itself).
   */
  maxTargetChars?: number;
  /**
   * The largest request head the upstream takes, target and headers (names and values, in bytes);
   * a larger call is refused unsent as the caller's input, as `maxTargetChars`. Unset: no limit.
   */
  maxHeadBytes?: number;
}

export interface UpstreamCall {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** The path to call, already with ids filled in. */
  path: string;
  /** The same path as a template for messages (`/users/:id`). */
  route?: string;
  /** A query object, or a raw query string passed on as it came. */
  query?: Record<string, string | undefined> | string;
  headers?: Record<string, string>;
  /** A JSON body. */
  body?: unknown;
  /** A body sent as it is: form-urlencoded text with its own content-type header, or multipart FormData. */
  rawBody?: string | FormData;
  /** Leave a 2xx answer as its text (errors are still parsed). */
  rawReply?: boolean;
}

export interface UpstreamReply {
  status: number;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * An attempt that got no whole answer in time: by the upstream's own timeout (`code` says so in
 * messages, as undici's codes do), or by the request's deadline when that came first.
 */
export class AttemptCut extends Error {
  readonly code = 'UPSTREAM_TIMEOUT';
  constructor(
    readonly limitMs: number,
    readonly byDeadline: boolean,
  ) {
    super(`no answer within ${limitMs} ms`);
  }
}

export async function send(upstream: UpstreamOptions, call: UpstreamCall, limit?: Limit): Promise<UpstreamReply> {
  // An id that is `.` or `..` (encodeURIComponent keeps dots) made `/users/.`, which URL parsers
  // read as `/users/`: the CRUD's list, or its update of every document for a PATCH. Such a path
  // names no resource of the call: answered as not found, without a request.
  // So does a path longer than any id (an id from a GraphQL argument or a callback's body): the
  // upstream's parser refused it (431, 414), a 500 for what is only an unknown id.
  if (call.path.length > MAX_PATH_CHARS || DOT_SEGMENT.test(call.path)) return { status: 404, body: undefined, headers: {} };
  const { origin, pathname } = baseOf(upstream.baseUrl);
  let search = '';
  // A raw query goes on byte for byte: Node's HTTP parser already refused what a request line may not carry.
  if (typeof call.query === 'string') search = call.query;
  else if (call.query) {
    // encodeURIComponent is native: about half the time of URLSearchParams on a long value.
    const pairs: string[] = [];
    for (const [key, value] of Object.entries(call.query)) {
      if (value === undefined) continue;
      // encodeURIComponent throws on a lone surrogate: it was retried and answered 503, a failure
      // of the upstream's own for its breaker, though the caller sent it (an id in a JSON body).
      if (!wellFormed(key) || !wellFormed(value))
        throw new InvalidInputError(`A value sent to the ${upstream.name} Service is not well-formed Unicode (a lone surrogate)`);
      pairs.push(`${encodeURIComponent(key)}=${encodeURIComponent(value)}`);
    }
    search = pairs.join('&');
  }
  const target = pathname + call.path + (search ? `?${search}` : '');
  // A filter from a GraphQL argument or a body travels in a GET's query string: past the upstream's
  // request head (Node's 16 KB) it answered 431, a server error for what is the caller's input.
  const max = upstream.maxTargetChars;
  if (max !== undefined && target.length > max)
    throw new InvalidInputError(
      `The request is too long for the ${upstream.name} Service (${target.length} characters of URL, at most ${max}): narrow the filter`,
    );
  if (upstream.maxHeadBytes !== undefined) assertHeadFits(upstream.name, upstream.maxHeadBytes, target, call.headers);
  const hasBody = call.body !== undefined;
  // The request's id goes with every call made for it, so the upstream's logs can be joined with ours.
  const requestId = currentRequest()?.id;
  // Straight to the dispatcher (no URL to parse per call; the base is split once).
  const response = await exchange(upstream.dispatcher, limit, {
    origin,
    path: target,
    method: call.method,
    headers: {
      accept: 'application/json',
      ...(hasBody ? { 'content-type': 'application/json' } : {}),
      ...(requestId ? { 'x-request-id': requestId } : {}),
      ...call.headers,
    },
    body: call.rawBody ?? (hasBody ? JSON.stringify(call.body) : undefined),
  });
  const text = response.body;
  let body: unknown = text;
  const keepText = call.rawReply && response.statusCode < 300;
  if (text && !keepText && String(response.headers['content-type'] ?? '').includes('json')) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return { status: response.statusCode, body: text ? body : undefined, headers: response.headers };
}

/**
 * The caller's platform headers (`acl_rows`, `acl_read_columns`…) are relayed with the filter in
 * the URL: together they passed the upstream's request head (Node's 16 KB) and it answered 431, a
 * server error for what is the caller's input. Refused unsent, naming the largest header.
 */
function assertHeadFits(name: string, max: number, target: string, headers: Record<string, string> = {}): void {
  let size = target.length;
  let largest: [string, number] = ['', 0];
  for (const [header, value] of Object.entries(headers)) {
    const bytes = header.length + Buffer.byteLength(value) + 4; // `: ` and CRLF
    size += bytes;
    if (bytes > largest[1]) largest = [header, bytes];
  }
  if (size <= max) return;
  const shorten = largest[1] > 1024 ? `shorten the ${largest[0]} header or narrow the filter` : 'narrow the filter';
  throw new InvalidInputError(
    `The request is too large for the ${name} Service (${size} bytes of URL and headers, at most ${max}): ${shorten}`,
  );
}

/** Far above any id a path carries (an ObjectId, an Auth0 `provider|id`, a job id), far below a request head's 16 KB. */
const MAX_PATH_CHARS = 2048;
/** A `.` or `..` path segment, also percent-encoded (WHATWG URL reads `%2e` as a dot there). */
const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i;

/** How long an attempt may take, and whether that is the request's deadline. */
export interface Limit {
  ms: number;
  byDeadline: boolean;
}

interface Exchange {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One request and its whole answer, through the dispatcher's handler interface: the answer's
 * chunks are gathered as they come, without the stream `request()` wraps them in (about 0.02 ms
 * less per call). A final answer's head replaces an informational (1xx) one's. With a `limit`,
 * the request is aborted (its connection closed) when no whole answer came by then.
 */
function exchange(dispatcher: Dispatcher, limit: Limit | undefined, options: Dispatcher.DispatchOptions): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let statusCode = 0;
    let headers: Exchange['headers'] = {};
    let abort: ((reason: Error) => void) | undefined;
    let cut: AttemptCut | undefined;
    const timer =
      limit === undefined
        ? undefined
        : setTimeout(() => {
            cut = new AttemptCut(limit.ms, limit.byDeadline);
            abort?.(cut);
            reject(cut);
          }, limit.ms);
    dispatcher.dispatch(options, {
      onConnect(abortRequest) {
        abort = abortRequest;
        // Dispatched only after the limit passed (queued behind others): not sent at all.
        if (cut) abortRequest(cut);
      },
      onHeaders(status, rawHeaders) {
        statusCode = status;
        headers = util.parseHeaders(rawHeaders);
        return true;
      },
      onData(chunk) {
        chunks.push(chunk);
        return true;
      },
      onComplete() {
        clearTimeout(timer);
        resolve({ statusCode, headers, body: chunks.length === 1 ? chunks[0]!.toString() : Buffer.concat(chunks).toString() });
      },
      onError(error) {
        clearTimeout(timer);
        reject(error);
      },
    });
  });
}

const bases = new Map<string, { origin: string; pathname: string }>();

/** `http://crud:3000/prefix/` → its origin and `/prefix`, split once per base URL. */
function baseOf(baseUrl: string): { origin: string; pathname: string } {
  let base = bases.get(baseUrl);
  if (!base) {
    const url = new URL(baseUrl);
    base = { origin: url.origin, pathname: url.pathname.replace(/\/$/, '') };
    bases.set(baseUrl, base);
  }
  return base;
}
