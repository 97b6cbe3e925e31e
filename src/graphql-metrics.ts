import { type DocumentNode, getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from './context.js';
import type { Metrics } from './ports/metrics.js';

/**
 * Counts each GraphQL operation by name and outcome (`ums_graphql_operations_total`): `invalid`
 * when validation or a limit (graphql-limits.ts) refused it, else `error` when its answer has any
 * error, else `success`; and, for an operation that read identities, how many identity-provider
 * calls it took (a page costs one, whatever its size: the dataloader batches).
 */
export function operationMetrics(metrics: Metrics): Plugin {
  return {
    onValidate({ params, context }) {
      return ({ valid }) => {
        if (!valid) metrics.graphqlOperation(operationName(params.documentAST, requestedName(context)), 'invalid');
      };
    },
    onExecute({ args }) {
      const name = operationName(args.document, args.operationName ?? undefined);
      return {
        onExecuteDone({ result }) {
          if (!('errors' in result) && !('data' in result)) return;
          metrics.graphqlOperation(name, result.errors?.length ? 'error' : 'success');
          const calls = (args.contextValue as Partial<Context>).loaders?.identityCalls() ?? 0;
          if (calls > 0) metrics.identityCallsPerOperation(calls);
        },
      };
    },
  };
}

/** The operation's name, `anonymous` when it has none (its type is not a name a client picks). */
function operationName(document: DocumentNode, requested: string | undefined): string {
  const operation = getOperationAST(document, requested);
  return operation?.name?.value ?? 'anonymous';
}

function requestedName(context: unknown): string | undefined {
  const name = (context as { params?: { operationName?: unknown } }).params?.operationName;
  return typeof name === 'string' ? name : undefined;
}
