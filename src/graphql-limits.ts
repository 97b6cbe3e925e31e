import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Config } from './config.js';
import { assertSafeInput } from './domain/input-limits.js';
import { DomainError } from './errors.js';
import { costLimit } from './graphql-cost.js';
import { limitError, limitsAnswer400, report, withoutPrefix } from './graphql-limit-error.js';
import { rootMutationRule } from './graphql-mutation-limits.js';

/**
 * What one GraphQL request may ask for, checked before any resolver runs. Each refusal is a 400
 * with a GraphQL error that names the limit (they are documented, so showing them costs nothing).
 */
export function graphqlLimits(config: Config): Plugin[] {
  // Built once: a rule made per request cost a closure each time, for the same answer.
  const mutationRule = rootMutationRule(config);
  return [
    getParameters,
    variableLimits(config),
    armor(config),
    costLimit(config),
    { onValidate: ({ addValidationRule }) => addValidationRule(mutationRule) },
    limitsAnswer400,
  ];
}

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
 * A GET's `variables` and `extensions` are JSON text that yoga's parser reads with JSON.parse, whose
 * SyntaxError it let through: `variables={` was a masked 500 ("Unexpected error.") with an error log.
 */
const getParameters: Plugin = {
  onRequestParse({ request, url }) {
    if (request.method !== 'GET') return;
    for (const name of ['variables', 'extensions']) {
      const text = url.searchParams.get(name);
      if (!text) continue;
      try {
        JSON.parse(text);
      } catch {
        throw limitError(`The ${name} parameter is not valid JSON.`, { code: 'BAD_REQUEST' });
      }
    }
  },
};

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
    // Needs the request's variables: costLimit() (graphql-cost.ts).
    costLimit: { enabled: false },
  }) as Plugin;
}
