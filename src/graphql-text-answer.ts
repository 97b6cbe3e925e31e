import type { Context } from './context.js';
import type { IdentitySelection, TextPlan } from './graphql-text-plans.js';
import { fieldsText, objectText } from './graphql-text-values.js';
import type { IdentityUser } from './ports/identity-provider.js';
import type { State } from './crud/states.js';
import type { KeyedDoc, UserDoc } from './ports/user-store.js';
import { requireAdmin } from './resolvers/access.js';
import { listUsers } from './resolvers/users.js';

/**
 * A user's part of an answer, as the bytes written: its fields before the identity and after it
 * (two views of one buffer), and the profile's `authUserId` when it names an identity.
 */
interface UserBytes {
  before: Buffer;
  after: Buffer;
  authUserId?: string;
}

/** A planned document's answer, and the identity-provider calls it took (the GraphQL metrics count them). */
export interface TextAnswer {
  body: Buffer;
  identityCalls: number;
}

/** What the kept users may hold in all: their bytes, and the stored texts they were made from (UTF-16). */
const KEPT_USER_BYTES = 16 * 1024 * 1024;
/**
 * What the kept identities' bytes may hold in all. Each document keeps its own bytes of an identity
 * (its aliases are their keys): 20 documents with 15 KB of aliases each kept 300 KB per identity.
 */
const KEPT_IDENTITY_BYTES = 4 * 1024 * 1024;
const COMMA = Buffer.from(',');
const NULL = Buffer.from('null');

/**
 * Answers a planned document (graphql-text-plans.ts) as JSON, or undefined when it cannot say what
 * yoga would (a resolver or a scalar refused a value, a resolver answered a promise): then yoga
 * answers. A failure (the caller is no administrator, the store or the identity provider failed)
 * is thrown, and yoga answers too, with its error.
 *
 * Each user is written by the schema's own resolvers and scalars (graphql-text-values.ts), from its
 * document, and kept as bytes while its stored text and state are the same (UserStore.listKeyed):
 * a page asked again neither parses its documents nor encodes them. Identities are read for each
 * request; their bytes are kept per identity object (the embedded provider's cache hands the same
 * frozen object until an identity changes).
 */
export function createTextAnswers(options: { keptUserBytes?: number; keptIdentityBytes?: number } = {}) {
  const kept = new KeptUsers(options.keptUserBytes ?? KEPT_USER_BYTES);
  const identityBytes = new KeptIdentities(options.keptIdentityBytes ?? KEPT_IDENTITY_BYTES);

  async function answer(plan: TextPlan, ctx: Context): Promise<TextAnswer | undefined> {
    await requireAdmin(ctx);
    const users = await pageUsers(plan, ctx);
    if (!users) return undefined;
    const { identity } = plan;
    const identities = identity ? await pageIdentities(identity, users, ctx) : undefined;
    const parts: Buffer[] = [plan.head];
    let length = plan.head.length + plan.tail.length;
    const add = (part: Buffer) => {
      parts.push(part);
      length += part.length;
    };
    for (let index = 0; index < users.length; index += 1) {
      const user = users[index]!;
      if (index > 0) add(COMMA);
      add(user.before);
      if (identity) {
        const shown = identityOf(identity, identities!.users[index]!, ctx);
        if (shown === undefined) return undefined;
        add(shown);
      }
      add(user.after);
    }
    parts.push(plan.tail);
    return { body: Buffer.concat(parts, length), identityCalls: identities?.calls ?? 0 };
  }

  /** The page's users, each as kept or written from its document. */
  async function pageUsers(plan: TextPlan, ctx: Context): Promise<UserBytes[] | undefined> {
    const rows = await ctx.deps.users.listKeyed?.(plan.query, ctx.scope);
    if (!rows) {
      const docs = (await listUsers(ctx, plan.query)) as UserDoc[];
      const users = docs.map((doc) => userBytes(plan, doc, ctx));
      return users.includes(undefined) ? undefined : (users as UserBytes[]);
    }
    const users: UserBytes[] = [];
    for (const row of rows) {
      let user = kept.get(plan.id, row);
      if (!user) {
        user = userBytes(plan, row.doc(), ctx);
        if (!user) return undefined;
        kept.set(plan.id, row, user);
      }
      users.push(user);
    }
    return users;
  }

  /** The identity as bytes (`null` for none), kept per identity object. */
  function identityOf(selection: IdentitySelection, identity: IdentityUser | null, ctx: Context): Buffer | undefined {
    if (identity === null) return NULL;
    let bytes = identityBytes.get(selection, identity);
    if (bytes === undefined) {
      const text = objectText(selection.items, identity, ctx);
      if (text === undefined) return undefined;
      bytes = ownBytes(text)[0]!;
      identityBytes.set(selection, identity, bytes);
    }
    return bytes;
  }

  return { answer, keptUserBytes: () => kept.bytes, keptIdentityBytes: () => identityBytes.bytes };
}

export type TextAnswers = ReturnType<typeof createTextAnswers>;

function userBytes(plan: TextPlan, doc: UserDoc, ctx: Context): UserBytes | undefined {
  const before = fieldsText(plan.before, doc, ctx);
  const after = fieldsText(plan.after, doc, ctx);
  if (before === undefined || after === undefined) return undefined;
  if (!plan.identity) {
    const [head, tail] = ownBytes(`{${before}`, '}');
    return { before: head!, after: tail! };
  }
  const [head, tail] = ownBytes(`{${before}${before ? ',' : ''}${plan.identity.key}`, `${after ? ',' : ''}${after}}`);
  const { authUserId } = doc;
  return { before: head!, after: tail!, ...(typeof authUserId === 'string' && authUserId ? { authUserId } : {}) };
}

/**
 * The texts' UTF-8 in one buffer of their own, as a view each. Not from Node's shared pool: a kept
 * slice of it would keep its whole 8 KB slab alive.
 */
function ownBytes(...texts: string[]): Buffer[] {
  const lengths = texts.map((text) => Buffer.byteLength(text));
  const buffer = Buffer.allocUnsafeSlow(lengths.reduce((sum, length) => sum + length, 0));
  let offset = 0;
  return texts.map((text, index) => {
    const view = buffer.subarray(offset, offset + lengths[index]!);
    view.write(text);
    offset += lengths[index]!;
    return view;
  });
}

/**
 * The identities of the page's users, in its order (null: none), read in one call as the page's
 * `identity` fields read them (the resolver's `identityOf`, prefetched by `nodes`): by the profile's
 * `authUserId`, null without one or when the provider has none, narrowed to the fields selected.
 */
async function pageIdentities(
  selection: IdentitySelection,
  users: readonly UserBytes[],
  ctx: Context,
): Promise<{ users: (IdentityUser | null)[]; calls: number }> {
  const ids: string[] = [];
  for (const user of users) if (user.authUserId) ids.push(user.authUserId);
  if (ids.length === 0) return { users: users.map(() => null), calls: 0 };
  const found = await ctx.deps.identity.getUsers(ids, selection.fields.fields);
  let next = 0;
  return { users: users.map((user) => (user.authUserId ? (found[next++] ?? null) : null)), calls: 1 };
}

/**
 * Users' bytes by id, each valid while the user's state and stored text are the ones they were
 * made from (comparing two texts is far cheaper than hashing one: a page of 100 costs a lookup by
 * id and a comparison each). The oldest users go first once what is held passes `maxBytes`.
 */
class KeptUsers {
  private readonly users = new Map<string, { state: State; text: string; byPlan: Map<number, UserBytes>; bytes: number }>();
  /** What the kept users hold, as counted. */
  bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(planId: number, row: KeyedDoc): UserBytes | undefined {
    const user = this.users.get(row.id);
    return user && user.text === row.text && user.state === row.state ? user.byPlan.get(planId) : undefined;
  }

  set(planId: number, row: KeyedDoc, bytes: UserBytes): void {
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
    // The buffer both views share, and its objects.
    const size = bytes.before.buffer.byteLength + 256;
    user.byPlan.set(planId, bytes);
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

/**
 * Identities' bytes by document (selection) and identity object, while the provider hands the same
 * object. Weakly held, so which are still alive is unknown: every byte made counts until all are
 * dropped at once, past `maxBytes`.
 */
class KeptIdentities {
  private bySelection = new WeakMap<IdentitySelection, WeakMap<IdentityUser, Buffer>>();
  private made = 0;

  constructor(private readonly maxBytes: number) {}

  /** The bytes made since the last drop: at least those still kept. */
  get bytes(): number {
    return this.made;
  }

  get(selection: IdentitySelection, identity: IdentityUser): Buffer | undefined {
    return this.bySelection.get(selection)?.get(identity);
  }

  set(selection: IdentitySelection, identity: IdentityUser, bytes: Buffer): void {
    // The buffer and its objects.
    const size = bytes.buffer.byteLength + 256;
    if (size > this.maxBytes) return;
    if (this.made + size > this.maxBytes) {
      this.bySelection = new WeakMap();
      this.made = 0;
    }
    let known = this.bySelection.get(selection);
    if (!known) this.bySelection.set(selection, (known = new WeakMap()));
    known.set(identity, bytes);
    this.made += size;
  }
}
