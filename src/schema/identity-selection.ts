import { type FieldNode, type GraphQLResolveInfo, Kind, type SelectionNode } from 'graphql';
import type { Context } from '../context.js';
import { type IdentityFieldSet, identityFieldSet, isIdentityField } from '../loaders.js';
import type { UserDoc } from '../ports/user-store.js';
import { prefetchIdentities } from '../resolvers/identities.js';

// Which identity fields a query selects below a user or a page of users, read from the parsed
// document once per selection (yoga keeps parsed documents): the identity provider is asked for
// those fields only, and a page for all its users at once.

/**
 * One identity call for the whole page, before its users resolve, when the query selects their
 * `identity` (at `path` below the field resolving), for just the identity fields it selects. If
 * it fails, the page still resolves: each `identity` field then asks through the dataloader and
 * carries its own error.
 */
export async function prefetchPageIdentities(ctx: Context, info: GraphQLResolveInfo, path: readonly string[], users: readonly UserDoc[]) {
  const fields = pageIdentityFields(info, path);
  if (!fields) return;
  const ids: string[] = [];
  for (const user of users) if (user.authUserId) ids.push(user.authUserId);
  await prefetchIdentities(ctx, ids, fields);
}

/** Per selection of the page field (the parsed document's nodes), per path: the identity fields below it, null if none. */
const pageSelections = new WeakMap<readonly FieldNode[], Map<string, IdentityFieldSet | null>>();

/** The identity fields selected at `path` below the page field, worked out once per selection (not per request). */
function pageIdentityFields(info: GraphQLResolveInfo, path: readonly string[]): IdentityFieldSet | null {
  let byPath = pageSelections.get(info.fieldNodes);
  if (!byPath) pageSelections.set(info.fieldNodes, (byPath = new Map()));
  const key = path.join('.');
  let fields = byPath.get(key);
  if (fields === undefined) {
    const identityNodes = fieldNodesAt(info, path);
    fields = identityNodes.length === 0 ? null : readIdentityFields(identityNodes, info);
    byPath.set(key, fields);
  }
  return fields;
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
export function identityFieldsOf(nodes: readonly FieldNode[], info: Pick<GraphQLResolveInfo, 'fragments'>): IdentityFieldSet {
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
