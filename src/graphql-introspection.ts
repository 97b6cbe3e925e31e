import { type FieldNode, GraphQLError, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Config } from './config.js';
import type { Context } from './context.js';
import { limitError } from './graphql-limit-error.js';
import { getCaller } from './resolvers/access.js';

/**
 * GRAPHQL_INTROSPECTION: who may read the schema, through introspection or through the "Did you
 * mean…" suggestions of error messages. `authenticated` asks resolvers/access.ts who is calling,
 * before the document is validated; a credential that does not verify counts as anonymous here
 * (the resolvers still answer it with their own 401).
 */
export function introspectionPolicy(config: Config, contextOf: (request: Request, serverContext: object) => Context): Plugin {
  const mode = config.GRAPHQL_INTROSPECTION;
  const open = new WeakMap<Request, boolean>();
  const isOpen = (request: Request | undefined) => mode === 'always' || (request !== undefined && open.get(request) === true);
  return {
    async onParams({ request, context }) {
      if (mode !== 'authenticated') return;
      const ctx = contextOf(request, context);
      open.set(
        request,
        await getCaller(ctx).then(
          (caller) => caller.kind !== 'anonymous',
          () => false,
        ),
      );
    },
    onValidate({ context, addValidationRule }) {
      // The rule's name keeps yoga's validation cache apart for open and closed callers.
      if (!isOpen((context as { request?: Request }).request)) addValidationRule(NoIntrospectionRule);
    },
    onExecutionResult({ request, result, setResult }) {
      if (isOpen(request) || !result || !('errors' in result) || !result.errors) return;
      if (!result.errors.some((error) => SUGGESTION.test(error.message) || SHAPES.some(([shape]) => shape.test(error.message)))) return;
      setResult({ ...result, errors: result.errors.map(forClosedCaller) });
    },
  };
}

/** graphql-js's suggestions: `Did you mean "users" or "user"?`, `Did you mean the enum value "PUBLIC"?`… */
const SUGGESTION = / ?Did you mean [^?]*\?/;
const SUGGESTIONS = new RegExp(SUGGESTION, 'g');

/**
 * Coercion errors that name an input type's fields (`Field value.crudSchema of required type
 * JSONObject! was not provided`, `Variable "$label" got invalid value 3`): the schema's shapes,
 * read without introspection. graphql-js and graphql-jit word them differently; both are cut.
 */
const SHAPES: readonly (readonly [RegExp, string])[] = [
  [/^Variable "\$[^"]*" got invalid value[\s\S]*$/, 'A variable got an invalid value.'],
  [/^Field "[^"]*" of required type "[^"]*" was not provided\.$/, 'An input object lacks a required field.'],
];

function forClosedCaller(error: GraphQLError): GraphQLError {
  let message = error.message.replace(SUGGESTIONS, '');
  for (const [shape, replacement] of SHAPES) message = message.replace(shape, replacement);
  if (message === error.message) return error;
  return new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  });
}

function NoIntrospectionRule(context: ValidationContext) {
  return {
    Field(node: FieldNode) {
      const name = node.name.value;
      if (name === '__schema' || name === '__type') {
        const message = `GraphQL introspection has been disabled for this caller, but the query contains the field "${name}".`;
        context.reportError(limitError(message, { code: 'GRAPHQL_VALIDATION_FAILED', nodes: [node] }));
      }
    },
  };
}
