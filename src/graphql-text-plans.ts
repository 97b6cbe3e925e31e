import {
  type DocumentNode,
  type FieldNode,
  getArgumentValues,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLOutputType,
  getNamedType,
  isLeafType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import { type IdentityFieldSet, identityFieldSet, isIdentityField } from './loaders.js';
import { schema } from './schema/index.js';
import { pageQuery, type UsersArgs } from './schema/user.js';

// A GraphQL document that reads one page of users and leaf fields of them (and of their identity)
// is answered as text (graphql-text-answer.ts): the same resolvers and scalars, without yoga,
// graphql-jit or a document per user re-parsed for a page asked again (docs/decisions.md, #23).

/** A leaf field of a user or an identity, as the answer writes it. */
export interface LeafItem {
  /** The response key, as JSON text with its colon (`"id":`). */
  key: string;
  field: GraphQLField<unknown, unknown>;
  type: GraphQLOutputType;
  /** What a field resolver may read of `info`: the default resolver reads `fieldName`. */
  info: { fieldName: string; fieldNodes: readonly FieldNode[]; fragments: Record<string, never> };
}

/** `__typename`: the type's name, whatever the value. */
interface TypeNameItem {
  key: string;
  typename: string;
}

export type NodeItem = LeafItem | TypeNameItem;

export interface IdentitySelection {
  key: string;
  items: readonly NodeItem[];
  fields: IdentityFieldSet;
}

export interface TextPlan {
  /** A number of its own, for the keys of what is kept of its answers. */
  id: number;
  operationName: string | undefined;
  /** The operation's name for the metrics (`anonymous` without one). */
  metricName: string;
  /** The store query of the page, as a query string. */
  query: string;
  /** The answer's bytes before the users and after them. */
  head: Buffer;
  tail: Buffer;
  /** The user's fields before its identity (all of them without one), and after. */
  before: readonly NodeItem[];
  identity?: IdentitySelection;
  after: readonly NodeItem[];
}

/** Documents yoga has answered without error, by their text: only those are answered as text. */
const MAX_PLANS = 256;
const MAX_PLAN_TEXT = 1024 * 1024;

/**
 * The plans of documents seen to run: a document is planned once yoga ran it without error, so
 * that its parsing, validation and limits (graphql-limits.ts) were yoga's. The document of a plan
 * has no variables, so whatever it was validated with holds for every later request.
 */
export function createTextPlans() {
  let nextId = 0;
  const plans = new LRUCache<string, TextPlan>({
    max: MAX_PLANS,
    maxSize: MAX_PLAN_TEXT,
    sizeCalculation: (_plan, text) => text.length + 1,
  });
  /** Documents found unplannable, not looked at again (held as long as yoga's cache holds them). */
  const unplannable = new WeakSet<DocumentNode>();
  const learn: Plugin = {
    onExecute({ args }) {
      const { document } = args;
      const text = document.loc?.source.body;
      if (text === undefined || unplannable.has(document) || plans.has(text)) return;
      return {
        onExecuteDone({ result }) {
          if (!('data' in result) || result.errors?.length) return;
          const plan = planOf(document, (nextId += 1));
          if (plan) plans.set(text, plan);
          else unplannable.add(document);
        },
      };
    },
  };
  return {
    learn,
    /** The plan of the request's document, when it has one and the request asks nothing a plan does not answer. */
    planFor(body: unknown): TextPlan | undefined {
      if (typeof body !== 'object' || body === null || !knownParameters(body)) return undefined;
      const { query, operationName, variables, extensions } = body as Record<string, unknown>;
      if (typeof query !== 'string' || extensions != null || !emptyVariables(variables)) return undefined;
      const plan = plans.get(query);
      if (!plan || (operationName != null && operationName !== plan.operationName)) return undefined;
      return plan;
    },
  };
}

export type TextPlans = ReturnType<typeof createTextPlans>;

const PARAMETERS = new Set(['query', 'operationName', 'variables', 'extensions']);

/** Whether yoga takes every parameter of the body: it refuses any other that is not null (400 "Unexpected parameter"). */
function knownParameters(body: object): boolean {
  for (const [name, value] of Object.entries(body)) if (value != null && !PARAMETERS.has(name)) return false;
  return true;
}

function emptyVariables(variables: unknown): boolean {
  if (variables == null) return true;
  if (typeof variables !== 'object' || Array.isArray(variables)) return false;
  for (const _ in variables) return false;
  return true;
}

/** The plan of `{ users(…) { nodes { … } } }`, its only operation: undefined for anything else. */
export function planOf(document: DocumentNode, id: number): TextPlan | undefined {
  if (document.definitions.length !== 1) return undefined;
  const operation = document.definitions[0]!;
  if (operation.kind !== Kind.OPERATION_DEFINITION || !plainOperation(operation)) return undefined;
  const users = onlyField(operation.selectionSet, 'users');
  const usersField = schema.getQueryType()?.getFields().users;
  if (!users || !usersField) return undefined;
  const nodes = onlyField(users.selectionSet!, 'nodes');
  if (!nodes?.selectionSet || nodes.arguments?.length) return undefined;
  const userType = schema.getType('User') as GraphQLObjectType;
  const items = nodeItems(nodes.selectionSet, userType);
  if (!items) return undefined;
  const at = items.findIndex((item) => item === IDENTITY);
  let identity: IdentitySelection | undefined;
  if (at !== -1) {
    identity = identitySelection(nodes.selectionSet, userType);
    if (!identity) return undefined;
  }
  const { page } = pageQuery(getArgumentValues(usersField, users) as UsersArgs);
  const name = operation.name?.value;
  return {
    id,
    operationName: name,
    metricName: name ?? 'anonymous',
    query: new URLSearchParams(page).toString(),
    head: Buffer.from(`{"data":{${keyOf(users)}{${keyOf(nodes)}[`),
    tail: Buffer.from(']}}}'),
    before: (at === -1 ? items : items.slice(0, at)) as NodeItem[],
    identity,
    after: (at === -1 ? [] : items.slice(at + 1)) as NodeItem[],
  };
}

/** A query with no name clash to worry about: no variables and no directives. */
function plainOperation(operation: OperationDefinitionNode): boolean {
  return operation.operation === 'query' && !operation.variableDefinitions?.length && !operation.directives?.length;
}

/** The selection's one field, when it is `name` with a selection and no directive. */
function onlyField(selectionSet: SelectionSetNode, name: string): FieldNode | undefined {
  const [selection, ...others] = selectionSet.selections;
  if (others.length > 0 || selection?.kind !== Kind.FIELD || selection.name.value !== name) return undefined;
  return selection.directives?.length || !selection.selectionSet ? undefined : selection;
}

const IDENTITY = Symbol('identity');

/** The fields of a user: leaves, `__typename`, and `identity` (IDENTITY) at most once; each response key once. */
function nodeItems(selectionSet: SelectionSetNode, type: GraphQLObjectType): (NodeItem | typeof IDENTITY)[] | undefined {
  const items: (NodeItem | typeof IDENTITY)[] = [];
  const keys = new Set<string>();
  for (const selection of selectionSet.selections) {
    if (selection.kind !== Kind.FIELD || selection.directives?.length || selection.arguments?.length) return undefined;
    const key = keyOf(selection);
    if (keys.has(key)) return undefined;
    keys.add(key);
    const name = selection.name.value;
    if (name === '__typename') {
      items.push({ key, typename: type.name });
      continue;
    }
    // A name from the request: only the type's own fields (graphql-js keeps them in a map without a prototype).
    const fields = type.getFields();
    const field = Object.hasOwn(fields, name) ? fields[name] : undefined;
    if (!field) return undefined;
    if (type.name === 'User' && name === 'identity') {
      if (items.includes(IDENTITY)) return undefined;
      items.push(IDENTITY);
      continue;
    }
    if (selection.selectionSet || !isLeafType(getNamedType(field.type))) return undefined;
    items.push(leafItem(key, field, selection));
  }
  return items;
}

function identitySelection(selectionSet: SelectionSetNode, userType: GraphQLObjectType): IdentitySelection | undefined {
  const node = selectionSet.selections.find(
    (selection): selection is FieldNode => selection.kind === Kind.FIELD && selection.name.value === 'identity',
  );
  const field = userType.getFields().identity;
  if (!node?.selectionSet || !field) return undefined;
  const identityType = getNamedType(field.type) as GraphQLObjectType;
  const items = nodeItems(node.selectionSet, identityType);
  if (!items || items.includes(IDENTITY)) return undefined;
  const names = node.selectionSet.selections.map((selection) => (selection as FieldNode).name.value);
  return {
    key: keyOf(node),
    items: items as NodeItem[],
    fields: identityFieldSet(names.filter(isIdentityField)),
  };
}

function leafItem(key: string, field: GraphQLField<unknown, unknown>, node: FieldNode): LeafItem {
  return { key, field, type: field.type, info: { fieldName: field.name, fieldNodes: [bareField(node)], fragments: {} } };
}

/**
 * The leaf field's node without its location: a node's `loc` links every token of the document,
 * comments included (about 500 bytes a token with its AST, graphql-cache.ts), which a plan,
 * bounded by its text alone, would keep after yoga's cache let the document go.
 */
function bareField(node: FieldNode): FieldNode {
  const name = (value: string) => ({ kind: Kind.NAME, value }) as const;
  return {
    kind: Kind.FIELD,
    ...(node.alias ? { alias: name(node.alias.value) } : {}),
    name: name(node.name.value),
    arguments: [],
    directives: [],
  };
}

/** The field's response key as JSON text, with its colon. */
function keyOf(node: FieldNode): string {
  return `${JSON.stringify(node.alias?.value ?? node.name.value)}:`;
}
