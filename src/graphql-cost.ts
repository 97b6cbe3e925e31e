import { ApolloArmor } from '@escape.tech/graphql-armor';
import {
  type DocumentNode,
  type FieldNode,
  getOperationAST,
  type GraphQLError,
  type GraphQLSchema,
  Kind,
  TypeInfo,
  validate,
  type ValueNode,
  visit,
  visitWithTypeInfo,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Config } from './config.js';
import { report } from './graphql-limit-error.js';

/**
 * graphql-armor's cost multiplies a list by its `first`/`last` only when written as a number:
 * `users(first: $n)` with `{"n": 200}` counted as a page of 1 (15 such pages, 1.5 MB, passed a
 * limit their literal twin was refused by). So the cost is computed once the variables are known,
 * just before execution, on the document with every page size as the resolver will read it: the
 * number written, the variable's value or default, else the argument's default (`first: 25`).
 * It is armor's own rule, so the same query costs the same however its sizes are written.
 */
export function costLimit(config: Config): Plugin {
  const [rule] = new ApolloArmor({
    blockFieldSuggestion: { enabled: false },
    maxTokens: { enabled: false },
    maxAliases: { enabled: false },
    maxDirectives: { enabled: false },
    maxDepth: { enabled: false },
    costLimit: { maxCost: config.GRAPHQL_MAX_COST, flattenFragments: true, ...report },
  }).protect().validationRules;
  if (!rule) throw new Error('graphql-armor gave no cost rule');
  // An operation whose page sizes name no variable costs the same at every request. Kept per
  // operation: a cheap operation of a document says nothing of the document's other operations.
  const fixedCost = new WeakMap<DocumentNode, Map<string, readonly GraphQLError[]>>();
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const operation = args.operationName ?? '';
      let known = fixedCost.get(args.document);
      let errors = known?.get(operation);
      if (!errors) {
        const sized = withPageSizes(args.schema, args.document, args.operationName, args.variableValues ?? {});
        errors = validate(args.schema, sized.document, [rule]);
        if (!sized.variable) {
          if (!known) fixedCost.set(args.document, (known = new Map()));
          known.set(operation, errors);
        }
      }
      if (errors.length > 0) setResultAndStopExecution({ errors });
    },
  };
}

/** The arguments armor multiplies a list's cost by. */
const PAGE_SIZES: ReadonlySet<string> = new Set(['first', 'last']);

/**
 * The operation that runs (and the fragments), with each page-size argument of a field that takes
 * one written as the number it will have. `variable`: whether a size came from a variable.
 */
function withPageSizes(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Readonly<Record<string, unknown>>,
): { document: DocumentNode; variable: boolean } {
  const operation = getOperationAST(document, operationName);
  const defaults = new Map((operation?.variableDefinitions ?? []).map((node) => [node.variable.name.value, node.defaultValue]));
  const definitions = document.definitions.filter((node) => node === operation || node.kind === Kind.FRAGMENT_DEFINITION);
  let variable = false;
  const valueOf = (node: ValueNode | undefined): number | undefined => {
    if (node?.kind === Kind.INT) return Number.parseInt(node.value, 10);
    if (node?.kind !== Kind.VARIABLE) return undefined;
    variable = true;
    const value = Object.hasOwn(variables, node.name.value) ? variables[node.name.value] : undefined;
    return Number.isInteger(value) ? (value as number) : value === undefined ? valueOf(defaults.get(node.name.value)) : undefined;
  };
  const typeInfo = new TypeInfo(schema);
  const sized = visit(
    { ...document, definitions },
    visitWithTypeInfo(typeInfo, {
      Field(node: FieldNode): FieldNode | undefined {
        const sizes = typeInfo.getFieldDef()?.args.filter((arg) => PAGE_SIZES.has(arg.name)) ?? [];
        if (sizes.length === 0) return undefined;
        const others = (node.arguments ?? []).filter((arg) => !PAGE_SIZES.has(arg.name.value));
        const sizeArguments = sizes.flatMap((definition) => {
          const written = node.arguments?.find((arg) => arg.name.value === definition.name)?.value;
          const size = valueOf(written) ?? (typeof definition.defaultValue === 'number' ? definition.defaultValue : undefined);
          if (size === undefined) return [];
          const value = { kind: Kind.INT, value: String(size) } as const;
          return [{ kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: definition.name }, value } as const];
        });
        return { ...node, arguments: [...others, ...sizeArguments] };
      },
    }),
  );
  return { document: sized, variable };
}
