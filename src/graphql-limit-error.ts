import { type ASTNode, GraphQLError, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** How every limit's refusal is told: the code that makes its answer a 400. */
const LIMIT_CODE = 'QUERY_LIMIT_EXCEEDED';

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
export const limitsAnswer400: Plugin = {
  onExecutionResult({ result, setResult }) {
    if (!result || !('errors' in result) || !result.errors?.some((error) => error.extensions?.code === LIMIT_CODE)) return;
    setResult({ ...result, extensions: { ...result.extensions, http: { status: 400 } } });
  },
};

// Report through the validation context, so every refusal is an ordinary validation error.
export const report = {
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(limitError(withoutPrefix(error)))],
};

/** armor calls every refusal a "Syntax Error"; none of them is one. */
export function withoutPrefix(error: GraphQLError): string {
  return error.message.replace(/^Syntax Error: /, '');
}
