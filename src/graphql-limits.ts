import { ApolloArmor, EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import {
  type ASTNode,
  type DocumentNode,
  type FieldNode,
  getOperationAST,
  GraphQLError,
  type GraphQLSchema,
  Kind,
  type SelectionSetNode,
  TypeInfo,
  validate,
  type ValidationContext,
  type ValidationRule,
  type ValueNode,
  visit,
  visitWithTypeInfo,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Config } from './config.js';
import { assertSafeInput } from './domain/input-limits.js';
import { DomainError } from './errors.js';

/**
 * What one GraphQL request may ask for, checked before any resolver runs. Each refusal is a 400
 * with a GraphQL error that names the limit (they are documented, so showing them costs nothing).
 */
export function graphqlLimits(config: Config): Plugin[] {
  // Built once: a rule made per request cost a closure each time, for the same answer.
  const mutationRule = rootMutationRule(config);
  return [
    variableLimits(config),
    armor(config),
    costLimit(config),
    { onValidate: ({ addValidationRule }) => addValidationRule(mutationRule) },
    limitsAnswer400,
  ];
}

const LIMIT_CODE = 'QUERY_LIMIT_EXCEEDED';

/** Mutations that hash a password: a request runs at most one of them, so it costs one hash. */
export const PASSWORD_MUTATIONS: ReadonlySet<string> = new Set(['login', 'resetPassword', 'changeOwnPassword']);

/**
 * A refusal before execution: a 400 whatever the client accepts (`spec: false`: yoga would answer
 * a validation error with 200 to a client that accepts application/json).
 */
export function limitError(message: string, options: { code?: string; nodes?: readonly ASTNode[] } = {}): GraphQLError {
  return new GraphQLError(message, {
    nodes: options.nodes,
    extensions: { code: options.code ?? LIMIT_CODE, http: { status: 400, spec: false } },
  });
}

/** Yoga marks a parse error (the token limit) `spec: true` whatever it says; the answer's own status wins. */
const limitsAnswer400: Plugin = {
  onExecutionResult({ result, setResult }) {
    if (!result || !('errors' in result) || !result.errors?.some((error) => error.extensions?.code === LIMIT_CODE)) return;
    setResult({ ...result, extensions: { ...result.extensions, http: { status: 400 } } });
  },
};

/**
 * Variables and extensions are plain JSON that graphql-js (and the scalars and filter compilers after
 * it) walk recursively: a 60,000-deep filter overflowed the stack. They are measured first, without
 * recursion.
 */
function variableLimits(config: Config): Plugin {
  const limits = (name: string) => ({
    where: [name],
    maxDepth: config.GRAPHQL_MAX_VARIABLE_DEPTH,
    maxNodes: config.GRAPHQL_MAX_VARIABLE_NODES,
  });
  return {
    onParams({ params, setResult }) {
      try {
        assertSafeInput(params.variables, limits('variables'));
        assertSafeInput(params.extensions, limits('extensions'));
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        setResult({ errors: [limitError(error.message, { code: error.code })] });
      }
    },
  };
}

/**
 * graphql-armor: tokens are counted while parsing (55,000 aliases stop at the limit instead of
 * taking seconds of parsing and validation); aliases, directives, depth and cost are validation
 * rules. Suggestions are handled per caller (graphql-introspection.ts), not here.
 */
function armor(config: Config): Plugin {
  return EnvelopArmorPlugin({
    blockFieldSuggestion: { enabled: false },
    maxTokens: {
      n: config.GRAPHQL_MAX_TOKENS,
      // The parser is stopped by throwing: there is no validation context yet.
      propagateOnRejection: false,
      onReject: [
        (_context: unknown, error: GraphQLError) => {
          throw limitError(withoutPrefix(error));
        },
      ],
    },
    // __typename is no cheaper to repeat than any other field.
    maxAliases: { n: config.GRAPHQL_MAX_ALIASES, allowList: [], ...report },
    maxDirectives: { n: config.GRAPHQL_MAX_DIRECTIVES, ...report },
    // The result unions are selected through inline fragments, which add no depth or cost of their own.
    maxDepth: { n: config.GRAPHQL_MAX_DEPTH, flattenFragments: true, ...report },
    // Needs the request's variables: costLimit() below.
    costLimit: { enabled: false },
  }) as Plugin;
}

// Report through the validation context, so every refusal is an ordinary validation error.
const report = {
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(limitError(withoutPrefix(error)))],
};

/**
 * graphql-armor's cost multiplies a list by its `first`/`last` only when written as a number:
 * `users(first: $n)` with `{"n": 200}` counted as a page of 1 (15 such pages, 1.5 MB, passed a
 * limit their literal twin was refused by). So the cost is computed once the variables are known,
 * just before execution, on the document with every page size as the resolver will read it: the
 * number written, the variable's value or default, else the argument's default (`first: 25`).
 * It is armor's own rule, so the same query costs the same however its sizes are written.
 */
function costLimit(config: Config): Plugin {
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

/** armor calls every refusal a "Syntax Error"; none of them is one. */
function withoutPrefix(error: GraphQLError): string {
  return error.message.replace(/^Syntax Error: /, '');
}

/**
 * Aliases let one request run a mutation many times (40 `resetPassword` in one body, each an
 * argon2 hash). Root mutation fields are counted through fragments, and at most one of them may
 * hash a password, and at most one send a password e-mail (each carries a live reset ticket).
 */
function rootMutationRule(config: Config): ValidationRule {
  const max = config.GRAPHQL_MAX_ROOT_MUTATIONS;
  return function RootMutationLimitRule(context: ValidationContext) {
    return {
      OperationDefinition(operation) {
        if (operation.operation !== 'mutation') return;
        const fields = rootFieldNames(operation.selectionSet, context);
        if (fields.length > max) {
          context.reportError(limitError(`At most ${max} mutation fields per request, found ${fields.length}.`, { nodes: [operation] }));
        }
        const hashing = fields.filter((name) => PASSWORD_MUTATIONS.has(name)).length;
        if (hashing > 1) {
          const names = [...PASSWORD_MUTATIONS].join(', ');
          context.reportError(limitError(`At most 1 of ${names} per request, found ${hashing}.`, { nodes: [operation] }));
        }
        const mails = fields.filter((name) => name === 'requestPasswordChange').length;
        if (mails > 1) {
          context.reportError(limitError(`At most 1 requestPasswordChange per request, found ${mails}.`, { nodes: [operation] }));
        }
      },
    };
  };
}

/** The root fields an operation runs, through inline fragments and fragment spreads (each fragment once). */
function rootFieldNames(root: SelectionSetNode, context: ValidationContext): string[] {
  const names: string[] = [];
  const spread = new Set<string>();
  const pending = [root];
  for (let set = pending.pop(); set; set = pending.pop()) {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value !== '__typename') names.push(selection.name.value);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        pending.push(selection.selectionSet);
      } else if (!spread.has(selection.name.value)) {
        spread.add(selection.name.value);
        const fragment = context.getFragment(selection.name.value);
        if (fragment) pending.push(fragment.selectionSet);
      }
    }
  }
  return names;
}
