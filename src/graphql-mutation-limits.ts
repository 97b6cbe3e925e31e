import { Kind, type SelectionSetNode, type ValidationContext, type ValidationRule } from 'graphql';
import type { Config } from './config.js';
import { limitError } from './graphql-limit-error.js';

/** Mutations that hash a password: a request runs at most one of them, so it costs one hash. */
export const PASSWORD_MUTATIONS: ReadonlySet<string> = new Set(['login', 'resetPassword', 'changeOwnPassword']);

/**
 * Reads of one bulk job, whole: a completed job of BULK_JOB_MAX_USERS users has its payload parsed
 * and its lists built (a passwordChangeJob of 100,000 users answers 11 MB). A request reads at most
 * one: 15 aliases answered 163 MB in 7 s and grew the process by 1.3 GB.
 */
export const JOB_READS: ReadonlySet<string> = new Set(['bulkActivationJob', 'passwordChangeJob']);

/**
 * Aliases let one request run a mutation many times (40 `resetPassword` in one body, each an
 * argon2 hash). Root mutation fields are counted through fragments, and at most one of them may
 * hash a password, and at most one send a password e-mail (each carries a live reset ticket). A
 * query reads at most one bulk job (JOB_READS).
 */
export function rootMutationRule(config: Config): ValidationRule {
  const max = config.GRAPHQL_MAX_ROOT_MUTATIONS;
  return function RootMutationLimitRule(context: ValidationContext) {
    return {
      OperationDefinition(operation) {
        if (operation.operation === 'query') {
          const reads = rootFieldNames(operation.selectionSet, context).filter((name) => JOB_READS.has(name)).length;
          if (reads > 1) {
            const names = [...JOB_READS].join(', ');
            context.reportError(limitError(`At most 1 of ${names} per request, found ${reads}.`, { nodes: [operation] }));
          }
        }
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
