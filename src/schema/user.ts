import type { IdentityUser } from '../ports/identity-provider.js';
import type { UserDoc } from '../ports/user-store.js';
import type { Context } from '../context.js';
import { STATES, type State } from '../crud/states.js';
import { type FieldNode, type GraphQLResolveInfo, Kind, type SelectionNode } from 'graphql';
import { z } from 'zod';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { type IdentityFieldSet, identityFieldSet, isIdentityField } from '../loaders.js';
import { INTERNAL_FIELDS, STANDARD_FIELDS } from '../domain/user-fields.js';
import { countUsers, getUser, listUsers } from '../resolvers/users.js';
import { identityOf, prefetchIdentities } from '../resolvers/identities.js';
import { builder } from './builder.js';

export const UserStateEnum = builder.enumType('UserState', {
  description: 'The CRUD state of a user document.',
  values: STATES,
});

const IdentityRef = builder.objectRef<IdentityUser>('Identity').implement({
  description: "The identity provider's view of a user.",
  fields: (t) => ({
    id: t.exposeID('id'),
    username: t.string({ nullable: true, resolve: (user) => user.username ?? null }),
    email: t.string({ nullable: true, resolve: (user) => user.email ?? null }),
    blocked: t.exposeBoolean('blocked'),
    emailVerified: t.exposeBoolean('emailVerified'),
    loginsCount: t.exposeInt('loginsCount'),
    lastLogin: t.field({ type: 'DateTime', nullable: true, resolve: (identity) => identity.lastLogin ?? null }),
    createdAt: t.field({ type: 'DateTime', resolve: (identity) => identity.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (identity) => identity.updatedAt }),
  }),
});

const HIDDEN_FROM_PROPERTIES = new Set([...STANDARD_FIELDS, ...INTERNAL_FIELDS]);

export const UserRef = builder.objectRef<UserDoc>('User').implement({
  description: 'A user: its profile in the users collection, and its identity when it has one.',
  fields: (t) => ({
    id: t.id({ description: 'The profile _id, used by every path and mutation.', resolve: (user) => user._id }),
    userGroup: t.string({ resolve: (user) => user.userGroup }),
    authUserId: t.string({ nullable: true, resolve: (user) => user.authUserId ?? null }),
    username: t.string({ nullable: true, resolve: (user) => user.username ?? null }),
    email: t.string({ nullable: true, resolve: (user) => user.email ?? null }),
    blocked: t.boolean({ resolve: (user) => user.blocked === true }),
    roles: t.stringList({ resolve: (user) => user.roles ?? [] }),
    expirationDate: t.field({ type: 'DateTime', nullable: true, resolve: (user) => user.expirationDate ?? null }),
    state: t.field({ type: UserStateEnum, resolve: (user) => user.__STATE__ }),
    createdAt: t.field({ type: 'DateTime', resolve: (user) => user.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (user) => user.updatedAt }),
    creatorId: t.string({ nullable: true, resolve: (user) => user.creatorId ?? null }),
    updaterId: t.string({ nullable: true, resolve: (user) => user.updaterId ?? null }),
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
  fields: (t) => ({
    hasNextPage: t.boolean({
      resolve: async (page) => page.users.length === page.first && (await page.count()) > page.offset + page.first,
    }),
    hasPreviousPage: t.boolean({ resolve: (page) => page.offset > 0 }),
    startCursor: t.string({ nullable: true, resolve: (page) => (page.users.length > 0 ? toCursor(page.offset) : null) }),
    endCursor: t.string({
      nullable: true,
      resolve: (page) => (page.users.length > 0 ? toCursor(page.offset + page.users.length - 1) : null),
    }),
  }),
});

const UserEdgeRef = builder.objectRef<{ cursor: string; node: UserDoc }>('UserEdge').implement({
  fields: (t) => ({ cursor: t.exposeString('cursor'), node: t.field({ type: UserRef, resolve: (edge) => edge.node }) }),
});

const UserConnectionRef = builder.objectRef<UserPage>('UserConnection').implement({
  fields: (t) => ({
    nodes: t.field({
      type: [UserRef],
      resolve: async (page, _args, ctx, info) => {
        await prefetchPageIdentities(ctx, info, ['identity'], page.users);
        return page.users;
      },
    }),
    edges: t.field({
      type: [UserEdgeRef],
      resolve: async (page, _args, ctx, info) => {
        await prefetchPageIdentities(ctx, info, ['node', 'identity'], page.users);
        return page.users.map((node, index) => ({ cursor: toCursor(page.offset + index), node }));
      },
    }),
    pageInfo: t.field({ type: PageInfoRef, resolve: (page) => page }),
    totalCount: t.int({ description: 'Users matching the filter, across all pages.', resolve: (page) => page.count() }),
  }),
});

builder.queryFields((t) => ({
  users: t.field({
    type: UserConnectionRef,
    description:
      'A page of users. `filter` is a CRUD `_q` filter (same operator allow-list); sort keys are field names, `-field` descending.',
    args: {
      filter: t.arg({ type: 'JSONObject', required: false }),
      states: t.arg({ type: [UserStateEnum], required: false, description: 'Default: PUBLIC.' }),
      sort: t.arg.stringList({ required: false }),
      first: t.arg.int({ required: false, defaultValue: 25, validate: z.number().int().min(1).max(200).nullish() }),
      after: t.arg.string({ required: false, description: 'Cursor of the last edge seen.' }),
      offset: t.arg.int({ required: false, validate: z.number().int().min(0).nullish() }),
    },
    resolve: async (_root, args, ctx) => {
      const first = args.first ?? 25;
      const offset = args.after ? fromCursor(args.after) + 1 : (args.offset ?? 0);
      const query = toCrudQuery(args.filter, args.states);
      const users = (await listUsers(ctx, {
        ...query,
        ...(args.sort?.length ? { _s: args.sort.join(',') } : {}),
        _l: String(first),
        _sk: String(offset),
      })) as UserDoc[];
      return { users, first, offset, count: memo(() => countUsers(ctx, query)) };
    },
  }),
  usersCount: t.int({
    args: { filter: t.arg({ type: 'JSONObject', required: false }), states: t.arg({ type: [UserStateEnum], required: false }) },
    resolve: (_root, args, ctx) => countUsers(ctx, toCrudQuery(args.filter, args.states)),
  }),
  user: t.field({
    type: UserRef,
    description: 'A user by profile _id, whatever its state.',
    errors: { types: [NotFoundError] },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx: Context) => getUser(ctx, String(args.id)),
  }),
}));

/**
 * One identity call for the whole page, before its users resolve, when the query selects their
 * `identity` (at `path` below the field resolving), for just the identity fields it selects. If
 * it fails, the page still resolves: each `identity` field then asks through the dataloader and
 * carries its own error.
 */
async function prefetchPageIdentities(ctx: Context, info: GraphQLResolveInfo, path: readonly string[], users: readonly UserDoc[]) {
  const identityNodes = fieldNodesAt(info, path);
  if (identityNodes.length === 0) return;
  const ids: string[] = [];
  for (const user of users) if (user.authUserId) ids.push(user.authUserId);
  await prefetchIdentities(ctx, ids, readIdentityFields(identityNodes, info));
}

/** The nodes of the fields at `path` below the field resolving (through fragments too). */
function fieldNodesAt(info: GraphQLResolveInfo, path: readonly string[]): readonly FieldNode[] {
  let nodes = info.fieldNodes;
  for (const name of path) nodes = nodes.flatMap((node) => subfields(node, info).filter((field) => field.name.value === name));
  return nodes;
}

/** The fields selected under `node`, with fragments spread. */
function subfields(node: FieldNode, info: Pick<GraphQLResolveInfo, 'fragments'>): FieldNode[] {
  const fields: FieldNode[] = [];
  const collect = (selections: readonly SelectionNode[]) => {
    for (const selection of selections) {
      if (selection.kind === Kind.FIELD) fields.push(selection);
      else if (selection.kind === Kind.INLINE_FRAGMENT) collect(selection.selectionSet.selections);
      else {
        const fragment = info.fragments[selection.name.value];
        if (fragment) collect(fragment.selectionSet.selections);
      }
    }
  };
  collect(node.selectionSet?.selections ?? []);
  return fields;
}

/** Per selection of `identity` (its nodes are the parsed document's, kept with it). */
const selectedIdentityFields = new WeakMap<readonly FieldNode[], IdentityFieldSet>();

/** The identity fields that the `identity` selections `nodes` read, worked out once per selection. */
function identityFieldsOf(nodes: readonly FieldNode[], info: Pick<GraphQLResolveInfo, 'fragments'>): IdentityFieldSet {
  let fieldSet = selectedIdentityFields.get(nodes);
  if (!fieldSet) {
    fieldSet = readIdentityFields(nodes, info);
    selectedIdentityFields.set(nodes, fieldSet);
  }
  return fieldSet;
}

function readIdentityFields(nodes: readonly FieldNode[], info: Pick<GraphQLResolveInfo, 'fragments'>): IdentityFieldSet {
  const names = nodes.flatMap((node) => subfields(node, info).map((field) => field.name.value));
  return identityFieldSet(names.filter(isIdentityField));
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
