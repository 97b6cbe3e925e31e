import type { IdentityUser } from '../ports/identity-provider.js';
import type { UserDoc } from '../ports/user-store.js';
import type { Context } from '../context.js';
import type { State } from '../crud/states.js';
import { z } from 'zod';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { INTERNAL_FIELDS, STANDARD_FIELDS } from '../domain/user-fields.js';
import { countUsers, getUser, listUsers } from '../resolvers/users.js';
import { identityOf } from '../resolvers/identities.js';
import { identityFieldsOf, prefetchPageIdentities } from './identity-selection.js';
import { builder } from './builder.js';

export const UserStateEnum = builder.enumType('UserState', {
  description: 'The CRUD state of a user document.',
  values: {
    PUBLIC: { value: 'PUBLIC', description: 'Active: the user can log in.' },
    DRAFT: { value: 'DRAFT', description: 'Not active yet, or suspended: the identity is blocked.' },
    TRASH: { value: 'TRASH', description: 'In the bin: the identity is blocked; it can be restored.' },
    DELETED: { value: 'DELETED', description: 'Soft-deleted: the identity is deleted (AUTH_HARD_DELETE) or blocked.' },
  } satisfies Record<State, { value: State; description: string }>,
});

const IdentityRef = builder.objectRef<IdentityUser>('Identity').implement({
  description: "The identity provider's view of a user.",
  fields: (t) => ({
    id: t.exposeID('id', { description: "The user's id in the identity provider (the profile's authUserId)." }),
    username: t.string({ nullable: true, description: 'The username the user logs in with.', resolve: (user) => user.username ?? null }),
    email: t.string({ nullable: true, description: 'The e-mail address the user logs in with.', resolve: (user) => user.email ?? null }),
    blocked: t.exposeBoolean('blocked', { description: 'True: the identity provider refuses to log the user in.' }),
    emailVerified: t.exposeBoolean('emailVerified', { description: 'Whether the user proved the e-mail address is theirs.' }),
    loginsCount: t.exposeInt('loginsCount', { description: 'How many times the user logged in.' }),
    lastLogin: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the user last logged in; null if never.',
      resolve: (identity) => identity.lastLogin ?? null,
    }),
    createdAt: t.field({ type: 'DateTime', description: 'When the identity was created.', resolve: (identity) => identity.createdAt }),
    updatedAt: t.field({ type: 'DateTime', description: 'When the identity last changed.', resolve: (identity) => identity.updatedAt }),
  }),
});

const HIDDEN_FROM_PROPERTIES = new Set([...STANDARD_FIELDS, ...INTERNAL_FIELDS]);

export const UserRef = builder.objectRef<UserDoc>('User').implement({
  description: 'A user: its profile in the users collection, and its identity when it has one.',
  fields: (t) => ({
    id: t.id({ description: 'The profile _id, used by every path and mutation.', resolve: (user) => user._id }),
    userGroup: t.string({ description: "The user's group: its schema validates `properties`.", resolve: (user) => user.userGroup }),
    authUserId: t.string({
      nullable: true,
      description: 'The id of the identity in the identity provider; null for a profile-only user.',
      resolve: (user) => user.authUserId ?? null,
    }),
    username: t.string({
      nullable: true,
      description: 'The username, kept the same in the identity.',
      resolve: (user) => user.username ?? null,
    }),
    email: t.string({
      nullable: true,
      description: 'The e-mail address, kept the same in the identity.',
      resolve: (user) => user.email ?? null,
    }),
    blocked: t.boolean({ description: 'True: the user cannot log in.', resolve: (user) => user.blocked === true }),
    roles: t.stringList({ description: 'The roles bound to the user.', resolve: (user) => user.roles ?? [] }),
    expirationDate: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the account expires: the user is blocked then. Null: never.',
      resolve: (user) => user.expirationDate ?? null,
    }),
    state: t.field({ type: UserStateEnum, description: 'The state of the profile (`__STATE__`).', resolve: (user) => user.__STATE__ }),
    createdAt: t.field({ type: 'DateTime', description: 'When the profile was created.', resolve: (user) => user.createdAt }),
    updatedAt: t.field({ type: 'DateTime', description: 'When the profile last changed.', resolve: (user) => user.updatedAt }),
    creatorId: t.string({ nullable: true, description: 'Who created the profile.', resolve: (user) => user.creatorId ?? null }),
    updaterId: t.string({ nullable: true, description: 'Who last changed the profile.', resolve: (user) => user.updaterId ?? null }),
    properties: t.field({
      type: 'JSONObject',
      description: "The group-specific fields, as defined by the group's schema.",
      resolve: (user) => Object.fromEntries(Object.entries(user).filter(([field]) => !HIDDEN_FROM_PROPERTIES.has(field))),
    }),
    identity: t.field({
      type: IdentityRef,
      nullable: true,
      description: 'Batched per request: a page of users costs one identity-provider call.',
      resolve: (user, _args, ctx, info) => {
        const id = user.authUserId;
        if (!id) return null;
        // Prefetched with the page: no promise per user.
        return identityOf(ctx, id, identityFieldsOf(info.fieldNodes, info));
      },
    }),
  }),
});

interface UserPage {
  users: UserDoc[];
  offset: number;
  first: number;
  count: () => Promise<number>;
}

const PageInfoRef = builder.objectRef<UserPage>('PageInfo').implement({
  description: 'Where the page is among the others (Relay connection spec).',
  fields: (t) => ({
    hasNextPage: t.boolean({
      description: 'Whether more users follow: pass `endCursor` as `after` for them.',
      resolve: async (page) => page.users.length === page.first && (await page.count()) > page.offset + page.first,
    }),
    hasPreviousPage: t.boolean({ description: 'Whether users come before this page.', resolve: (page) => page.offset > 0 }),
    startCursor: t.string({
      nullable: true,
      description: 'The cursor of the first user of the page.',
      resolve: (page) => (page.users.length > 0 ? toCursor(page.offset) : null),
    }),
    endCursor: t.string({
      nullable: true,
      description: 'The cursor of the last user of the page.',
      resolve: (page) => (page.users.length > 0 ? toCursor(page.offset + page.users.length - 1) : null),
    }),
  }),
});

const UserEdgeRef = builder.objectRef<{ cursor: string; node: UserDoc }>('UserEdge').implement({
  description: 'A user of a page, with its cursor.',
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Pass it as `after` for the users that follow this one.' }),
    node: t.field({ type: UserRef, description: 'The user.', resolve: (edge) => edge.node }),
  }),
});

const UserConnectionRef = builder.objectRef<UserPage>('UserConnection').implement({
  description: 'A page of users.',
  fields: (t) => ({
    nodes: t.field({
      type: [UserRef],
      description: 'The users of the page.',
      resolve: async (page, _args, ctx, info) => {
        await prefetchPageIdentities(ctx, info, ['identity'], page.users);
        return page.users;
      },
    }),
    edges: t.field({
      type: [UserEdgeRef],
      description: 'The users of the page, with their cursors.',
      resolve: async (page, _args, ctx, info) => {
        await prefetchPageIdentities(ctx, info, ['node', 'identity'], page.users);
        return page.users.map((node, index) => ({ cursor: toCursor(page.offset + index), node }));
      },
    }),
    pageInfo: t.field({ type: PageInfoRef, description: 'Whether other pages come before or after.', resolve: (page) => page }),
    totalCount: t.int({ description: 'Users matching the filter, across all pages.', resolve: (page) => page.count() }),
  }),
});

builder.queryFields((t) => ({
  users: t.field({
    type: UserConnectionRef,
    description:
      'A page of users. `filter` is a CRUD `_q` filter (same operator allow-list); sort keys are field names, `-field` descending.',
    args: {
      filter: t.arg({ type: 'JSONObject', required: false, description: 'A CRUD `_q` filter, e.g. {"userGroup": "customer"}.' }),
      states: t.arg({ type: [UserStateEnum], required: false, description: 'Default: PUBLIC.' }),
      sort: t.arg.stringList({ required: false, description: 'Field names to sort by, `-field` for descending.' }),
      first: t.arg.int({
        required: false,
        defaultValue: 25,
        description: 'How many users (1 to 200).',
        validate: z.number().int().min(1).max(200).nullish(),
      }),
      after: t.arg.string({ required: false, description: 'Cursor of the last edge seen.' }),
      offset: t.arg.int({
        required: false,
        description: 'Skip this many users first (ignored with `after`).',
        validate: z.number().int().min(0).nullish(),
      }),
    },
    resolve: async (_root, args, ctx) => {
      const { filters, page, first, offset } = pageQuery(args);
      const users = (await listUsers(ctx, page)) as UserDoc[];
      return { users, first, offset, count: memo(() => countUsers(ctx, filters)) };
    },
  }),
  usersCount: t.int({
    description: 'How many users match.',
    args: {
      filter: t.arg({ type: 'JSONObject', required: false, description: 'A CRUD `_q` filter.' }),
      states: t.arg({ type: [UserStateEnum], required: false, description: 'Default: PUBLIC.' }),
    },
    resolve: (_root, args, ctx) => countUsers(ctx, toCrudQuery(args.filter, args.states)),
  }),
  user: t.field({
    type: UserRef,
    description: 'A user by profile _id, whatever its state.',
    errors: { types: [NotFoundError] },
    args: { id: t.arg.id({ required: true, description: 'The profile _id.' }) },
    resolve: (_root, args, ctx: Context) => getUser(ctx, String(args.id)),
  }),
}));

/** The arguments of `users`, validated (as the field's zod schemas say). */
export interface UsersArgs {
  filter?: Record<string, unknown> | null;
  states?: readonly State[] | null;
  sort?: readonly string[] | null;
  first?: number | null;
  after?: string | null;
  offset?: number | null;
}

/**
 * The store queries of a `users` page: `page` reads its users, `filters` counts them all. The text
 * answer of a document (graphql-text-plans.ts) reads the same page.
 */
export function pageQuery(args: UsersArgs): {
  filters: Record<string, string>;
  page: Record<string, string>;
  first: number;
  offset: number;
} {
  const first = args.first ?? 25;
  const offset = args.after ? fromCursor(args.after) + 1 : (args.offset ?? 0);
  const filters = toCrudQuery(args.filter, args.states);
  const page = { ...filters, ...(args.sort?.length ? { _s: args.sort.join(',') } : {}), _l: String(first), _sk: String(offset) };
  return { filters, page, first, offset };
}

function toCrudQuery(
  filter: Record<string, unknown> | null | undefined,
  states: readonly State[] | null | undefined,
): Record<string, string> {
  const query: Record<string, string> = {};
  if (filter) query._q = JSON.stringify(filter);
  if (states?.length) query._st = states.join(',');
  return query;
}

function toCursor(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString('base64url');
}

function fromCursor(cursor: string): number {
  const match = /^offset:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new InvalidInputError(`invalid cursor "${cursor}"`, [{ path: ['after'], message: 'invalid cursor' }]);
  return Number(match[1]);
}

function memo<T>(load: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => (value ??= load());
}
