import { Ajv, type ValidateFunction } from 'ajv';
import { z } from 'zod';
import { InvalidInputError } from '../../errors.js';
import type { Clock } from '../../ports/clock.js';
import type { UpstreamReply } from '../http.js';

/** How long the collection's declared fields are trusted before `GET /schema` is asked again. */
export const DECLARED_FIELDS_TTL_MS = 5 * 60_000;

/** The fields every CRUD collection has; taken even if a `GET /schema` answer were to leave one out. */
const CRUD_OWN_FIELDS = ['_id', '__STATE__', 'creatorId', 'createdAt', 'updaterId', 'updatedAt'];

/** `GET /<collection>/schema` as the CRUD answers it: `{type, properties, required}` of an item. */
const ItemSchema = z.looseObject({ properties: z.record(z.string(), z.unknown()) });

/** What the collection declares: its top-level names, and a check of its closed nested objects when it compiles. */
interface Declared {
  names: Set<string>;
  nested?: ValidateFunction;
}

export interface RefusedDocument {
  index: number;
  error: InvalidInputError;
}

/**
 * The top-level field names a CRUD collection declares, read from its `GET /schema`, so that an
 * insert through `POST /import` can be refused as `POST /` would refuse it: `POST /import`
 * validates its items with `removeAdditional: true` and silently drops an undeclared field
 * (crud-service 7.2.5, lib/validatorGetters.js). Without an answer that names the fields (a
 * stand-in CRUD without the route, an unparsable body) nothing is checked, as before.
 */
export function createDeclaredFields(readSchema: () => Promise<UpstreamReply>, options: { clock: Clock; ttlMs?: number }) {
  const { clock, ttlMs = DECLARED_FIELDS_TTL_MS } = options;
  let cached: { declared: Declared | undefined; until: number } | undefined;
  let reading: Promise<Declared | undefined> | undefined;
  // ajv compiles a wide schema slowly (1,000 closed object fields: 0.75 s of a held event loop):
  // compiled again only when the answer changes, not every ttlMs.
  let compiled: { text: string; check: ValidateFunction | undefined } | undefined;
  const nestedOf = (properties: Record<string, unknown>) => {
    const text = JSON.stringify(properties);
    if (compiled?.text !== text) compiled = { text, check: nestedCheck(properties) };
    return compiled.check;
  };

  async function read(): Promise<Declared | undefined> {
    let reply: UpstreamReply;
    try {
      reply = await readSchema();
    } catch {
      // Unreachable or timed out: no check for this insert, and asked again for the next one.
      return undefined;
    }
    // A 5xx or a 429 passes: not kept, as an unreachable CRUD. Anything else is kept for ttlMs.
    if (reply.status >= 500 || reply.status === 429) return undefined;
    const parsed = reply.status === 200 ? ItemSchema.safeParse(reply.body) : undefined;
    const declared = parsed?.success
      ? { names: new Set([...Object.keys(parsed.data.properties), ...CRUD_OWN_FIELDS]), nested: nestedOf(parsed.data.properties) }
      : undefined;
    cached = { declared, until: clock.now() + ttlMs };
    return declared;
  }

  async function declared(): Promise<Declared | undefined> {
    if (cached && clock.now() < cached.until) return cached.declared;
    // One read for the inserts that arrive together.
    reading ??= read().finally(() => (reading = undefined));
    return reading;
  }

  return {
    /** The first document that has a field the collection does not declare, with the error naming it. */
    async firstRefused(docs: readonly Record<string, unknown>[]): Promise<RefusedDocument | undefined> {
      const known = await declared();
      if (!known) return undefined;
      for (const [index, doc] of docs.entries()) {
        const field = Object.keys(doc).find((key) => !known.names.has(key)) ?? firstNestedUndeclared(known.nested, doc);
        if (field !== undefined) {
          const message = `Property "${field}" is not a field of the profile store's collection, which would drop it`;
          return { index, error: new InvalidInputError(message) };
        }
      }
      return undefined;
    },
  };
}

export type DeclaredFields = ReturnType<typeof createDeclaredFields>;

/**
 * The collection's item schema compiled to find keys its closed nested objects
 * (`additionalProperties: false`) do not declare, which `POST /import` strips as well. Only those
 * errors are read: types and formats are the CRUD's to check. A schema ajv cannot compile leaves
 * the check at the top level.
 */
function nestedCheck(properties: Record<string, unknown>): ValidateFunction | undefined {
  try {
    const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true, allowUnionTypes: true });
    return ajv.compile({ type: 'object', properties });
  } catch {
    return undefined;
  }
}

/** The dotted path of the first key a closed nested object does not declare. */
function firstNestedUndeclared(check: ValidateFunction | undefined, doc: Record<string, unknown>): string | undefined {
  if (!check || check(doc)) return undefined;
  const error = check.errors?.find((found) => found.keyword === 'additionalProperties');
  if (!error) return undefined;
  const parent = error.instancePath.split('/').slice(1).join('.');
  return `${parent}.${String((error.params as { additionalProperty?: unknown }).additionalProperty)}`;
}
