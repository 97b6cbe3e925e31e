import { defaultFieldResolver, type GraphQLLeafType, type GraphQLOutputType, isListType, isNonNullType } from 'graphql';
import type { Context } from './context.js';
import type { IdentitySelection, LeafItem, NodeItem, TextPlan } from './graphql-text-plans.js';
import type { IdentityUser } from './ports/identity-provider.js';
import type { KeyedDoc, UserDoc } from './ports/user-store.js';
import { requireAdmin } from './resolvers/access.js';
import { listUsers } from './resolvers/users.js';

/**
 * A user's part of an answer: its fields' text before the identity and after it, and what the
 * `identity` resolver reads of the user to find it.
 */
interface UserText {
  before: string;
  after: string;
  /** The profile's `authUserId`, when it names an identity. */
  authUserId?: string;
}

/** A planned document's answer, and the identity-provider calls it took (the GraphQL metrics count them). */
export interface TextAnswer {
  text: string;
  identityCalls: number;
}

/** What the kept user texts may hold in all (UTF-16, with their keys: the store's row text). */
const USER_TEXT_BYTES = 16 * 1024 * 1024;

/**
 * Answers a planned document (graphql-text-plans.ts) as JSON text, or undefined when it cannot say
 * what yoga would (a resolver or a scalar refused a value, a resolver answered a promise): then
 * yoga answers. A failure (the caller is no administrator, the store or the identity provider
 * failed) is thrown, and yoga answers too, with its error.
 *
 * Each user's text is made by the schema's own resolvers and scalars, from its document, and kept
 * by the store's key of that document (UserStore.listKeyed): a page asked again parses none of its
 * documents. Identities are read for each request, through the request's loaders as the `identity`
 * field reads them; their text is kept per identity object (the embedded provider's cache hands the
 * same object until an identity changes).
 */
export function createTextAnswers() {
  const kept = new UserTexts(USER_TEXT_BYTES);
  const identityTexts = new WeakMap<IdentitySelection, WeakMap<IdentityUser, string>>();

  async function answer(plan: TextPlan, ctx: Context): Promise<TextAnswer | undefined> {
    await requireAdmin(ctx);
    const texts = await userTexts(plan, ctx);
    if (!texts) return undefined;
    const { identity } = plan;
    const identities = identity ? await pageIdentities(identity, texts, ctx) : undefined;
    // Joined once, a flat string: built with `+=`, the 300 pieces made a tree the socket's write flattened.
    const parts: string[] = [plan.head];
    for (let index = 0; index < texts.length; index += 1) {
      const text = texts[index]!;
      if (index > 0) parts.push(',');
      parts.push(text.before);
      if (identity) {
        const shown = identityText(identity, identities!.users[index]!, ctx);
        if (shown === undefined) return undefined;
        parts.push(shown);
      }
      parts.push(text.after);
    }
    parts.push(plan.tail);
    return { text: parts.join(''), identityCalls: identities?.calls ?? 0 };
  }

  /** The page's users as text, each as kept or made from its document. */
  async function userTexts(plan: TextPlan, ctx: Context): Promise<UserText[] | undefined> {
    const rows = await ctx.deps.users.listKeyed?.(plan.query, ctx.scope);
    if (!rows) {
      const docs = (await listUsers(ctx, plan.query)) as UserDoc[];
      const texts = docs.map((doc) => userText(plan, doc, ctx));
      return texts.includes(undefined) ? undefined : (texts as UserText[]);
    }
    const texts: UserText[] = [];
    for (const row of rows) {
      let text = kept.get(plan.id, row);
      if (!text) {
        text = userText(plan, row.doc(), ctx);
        if (!text) return undefined;
        kept.set(plan.id, row, text);
      }
      texts.push(text);
    }
    return texts;
  }

  /** The identity as text ('null' for none), kept per identity object. */
  function identityText(selection: IdentitySelection, identity: IdentityUser | null, ctx: Context): string | undefined {
    if (identity === null) return 'null';
    let texts = identityTexts.get(selection);
    if (!texts) identityTexts.set(selection, (texts = new WeakMap()));
    let text = texts.get(identity);
    if (text === undefined) {
      text = objectText(selection.items, identity, ctx);
      if (text === undefined) return undefined;
      texts.set(identity, text);
    }
    return text;
  }

  return { answer };
}

/**
 * The identities of the page's users, in its order (null: none), read in one call as the page's
 * `identity` fields read them (the resolver's `identityOf`, prefetched by `nodes`): by the profile's
 * `authUserId`, null without one or when the provider has none, narrowed to the fields selected.
 */
async function pageIdentities(
  selection: IdentitySelection,
  texts: readonly UserText[],
  ctx: Context,
): Promise<{ users: (IdentityUser | null)[]; calls: number }> {
  const ids: string[] = [];
  for (const text of texts) if (text.authUserId) ids.push(text.authUserId);
  if (ids.length === 0) return { users: texts.map(() => null), calls: 0 };
  const found = await ctx.deps.identity.getUsers(ids, selection.fields.fields);
  let next = 0;
  return { users: texts.map((text) => (text.authUserId ? (found[next++] ?? null) : null)), calls: 1 };
}

/**
 * Users' texts by id, each valid while the user's state and stored text are the ones it was made
 * from (comparing two texts is far cheaper than hashing one: a page of 100 costs a lookup by id
 * and a comparison each). The oldest users go first once the texts held pass `maxBytes`.
 */
class UserTexts {
  private readonly users = new Map<string, { state: string; text: string; byPlan: Map<number, UserText>; bytes: number }>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(planId: number, row: KeyedDoc): UserText | undefined {
    const user = this.users.get(row.id);
    return user && user.text === row.text && user.state === row.state ? user.byPlan.get(planId) : undefined;
  }

  set(planId: number, row: KeyedDoc, text: UserText): void {
    let user = this.users.get(row.id);
    if (user && (user.text !== row.text || user.state !== row.state)) {
      this.drop(row.id);
      user = undefined;
    }
    if (!user) {
      user = { state: row.state, text: row.text, byPlan: new Map(), bytes: 2 * (row.id.length + row.text.length) + 128 };
      this.users.set(row.id, user);
      this.bytes += user.bytes;
    }
    if (user.byPlan.has(planId)) return;
    const size = 2 * (text.before.length + text.after.length) + 64;
    user.byPlan.set(planId, text);
    user.bytes += size;
    this.bytes += size;
    while (this.bytes > this.maxBytes) {
      const oldest = this.users.keys().next();
      if (oldest.done) break;
      this.drop(oldest.value);
    }
  }

  private drop(id: string): void {
    const user = this.users.get(id);
    if (!user) return;
    this.users.delete(id);
    this.bytes -= user.bytes;
  }
}

export type TextAnswers = ReturnType<typeof createTextAnswers>;

function userText(plan: TextPlan, doc: UserDoc, ctx: Context): UserText | undefined {
  const before = fieldsText(plan.before, doc, ctx);
  const after = fieldsText(plan.after, doc, ctx);
  if (before === undefined || after === undefined) return undefined;
  if (!plan.identity) return { before: `{${before}`, after: '}' };
  const { authUserId } = doc;
  return {
    before: `{${before}${before ? ',' : ''}${plan.identity.key}`,
    after: `${after ? ',' : ''}${after}}`,
    ...(typeof authUserId === 'string' && authUserId ? { authUserId } : {}),
  };
}

function objectText(items: readonly NodeItem[], source: unknown, ctx: Context): string | undefined {
  const fields = fieldsText(items, source, ctx);
  return fields === undefined ? undefined : `{${fields}}`;
}

/** The fields' `"key":value` text, comma-separated; undefined if any cannot be written. */
function fieldsText(items: readonly NodeItem[], source: unknown, ctx: Context): string | undefined {
  let out = '';
  for (const item of items) {
    let value: string | undefined;
    if ('typename' in item) value = JSON.stringify(item.typename);
    else {
      let result: unknown;
      try {
        result = resolved(item, source, ctx);
      } catch {
        return undefined;
      }
      value = result instanceof Promise ? undefined : leafText(item.type, result);
    }
    if (value === undefined) return undefined;
    out += `${out ? ',' : ''}${item.key}${value}`;
  }
  return out;
}

/** What the field's resolver answers for `source` (a promise as it is; a throw is thrown). */
function resolved(item: LeafItem, source: unknown, ctx: Context): unknown {
  const resolve = item.field.resolve ?? defaultFieldResolver;
  return resolve(source, {}, ctx, item.info as never);
}

/**
 * A leaf value (or a list of them) as graphql-js completes it: null for null or undefined where the
 * type allows it, the scalar's or enum's serialization otherwise. Undefined where graphql-js would
 * answer an error instead.
 */
function leafText(type: GraphQLOutputType, value: unknown): string | undefined {
  if (isNonNullType(type)) return value === null || value === undefined ? undefined : leafText(type.ofType, value);
  if (value === null || value === undefined) return 'null';
  if (value instanceof Error) return undefined;
  if (isListType(type)) {
    if (!Array.isArray(value)) return undefined;
    let out = '[';
    for (let index = 0; index < value.length; index += 1) {
      const item = leafText(type.ofType, value[index]);
      if (item === undefined) return undefined;
      out += `${index > 0 ? ',' : ''}${item}`;
    }
    return `${out}]`;
  }
  try {
    const serialized = (type as GraphQLLeafType).serialize(value);
    return serialized === null || serialized === undefined ? undefined : JSON.stringify(serialized);
  } catch {
    return undefined;
  }
}
