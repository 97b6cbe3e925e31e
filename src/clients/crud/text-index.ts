import { InvalidInputError } from '../../errors.js';
import { askOnce, type UpstreamCall, type UpstreamOptions } from '../http.js';

/**
 * `$text` needs a text index in MongoDB, and a CRUD collection may have none. The CRUD then fails
 * the query: its count answers 500 with MongoDB's text, its list (streamed) closes the connection
 * with no answer. Both were server errors for the caller's search, and both counted towards the
 * CRUD's circuit breaker, so a few searches made every CRUD call a 503 for a while.
 *
 * A call carrying `$text` (in `_q` or `acl_rows`) first learns whether the collection has a text
 * index: one count of a `$text` search, asked once outside the breaker and the retries, its answer
 * remembered for a minute (an index an operator adds is seen within it). Without one, the call is
 * a 400 in the service's words, unsent. When the answer is unknown (the CRUD did not answer), the
 * call goes on as before.
 */
export class TextIndexCheck {
  private known?: { has: boolean; until: number };
  private asking?: Promise<boolean | undefined>;

  constructor(
    private readonly upstream: UpstreamOptions,
    private readonly path: string,
  ) {}

  /**
   * Rejects with the 400 when `call` searches with `$text` a collection known to have no text
   * index. Undefined (nothing to wait for) when the call carries no `$text`: the calls of every
   * other request keep their timing.
   */
  assertUsable(call: UpstreamCall): Promise<void> | undefined {
    if (call.method !== 'GET' || !carriesText(call)) return undefined;
    return this.refuseWithoutIndex();
  }

  private async refuseWithoutIndex(): Promise<void> {
    if ((await this.hasIndex()) !== false) return;
    throw new InvalidInputError(
      `querystring/_q $text needs a text index, and the CRUD Service's ${this.path} collection has none: search with $regex`,
      [{ path: ['querystring', '_q', '$text'], message: 'no text index' }],
    );
  }

  private async hasIndex(): Promise<boolean | undefined> {
    if (this.known && this.known.until > Date.now()) return this.known.has;
    this.asking ??= this.ask().finally(() => (this.asking = undefined));
    return this.asking;
  }

  private async ask(): Promise<boolean | undefined> {
    const query = { _q: JSON.stringify({ $text: { $search: 'ums-text-index-check' } }), _st: 'PUBLIC' };
    const reply = await askOnce(this.upstream, { method: 'GET', path: `${this.path}/count`, query });
    const message = (reply?.body as { message?: unknown } | undefined)?.message;
    const has = reply?.status === 200 ? true : reply?.status === 500 && /text index required/i.test(String(message)) ? false : undefined;
    if (has !== undefined) this.known = { has, until: Date.now() + REMEMBERED_MS };
    return has;
  }
}

const REMEMBERED_MS = 60_000;

/**
 * Whether the call's `_q` or `acl_rows` holds a `$text` key (a value that merely says "$text" does
 * not count). A raw query goes on byte for byte, and the CRUD decodes it: `%74ext` in it, or
 * `\u0024text` in its JSON, is `$text` too, so neither text is searched for the word as written.
 */
function carriesText(call: UpstreamCall): boolean {
  const { query } = call;
  const q = typeof query === 'string' ? new URLSearchParams(query).get('_q') : query?._q;
  return holdsTextKey(q) || holdsTextKey(call.headers?.acl_rows);
}

function holdsTextKey(json: string | null | undefined): boolean {
  if (!json || (!json.includes('$text') && !json.includes('\\u'))) return false;
  try {
    return hasKey(JSON.parse(json), '$text');
  } catch {
    return false;
  }
}

function hasKey(value: unknown, key: string): boolean {
  if (Array.isArray(value)) return value.some((item) => hasKey(item, key));
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(([name, inner]) => name === key || hasKey(inner, key));
}
