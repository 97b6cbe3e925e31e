import { AsyncLocalStorage } from 'node:async_hooks';
import { isDeepStrictEqual } from 'node:util';
import {
  type DocumentNode,
  execute,
  type ExecutionArgs,
  type ExecutionResult,
  GraphQLError,
  type GraphQLFieldResolver,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  isObjectType,
  print,
} from 'graphql';
import { createErrorProxy, errorTypeMap } from '@pothos/plugin-errors';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';

/**
 * GRAPHQL_JIT_SHADOW=true (a test switch, docs/configuration.md): every document that graphql-jit
 * would run is run by graphql-js too, and the two answers must agree, so the second execution path
 * cannot drift unseen (it did once: a custom scalar's literal lost its variables under jit).
 *
 * graphql-js runs first, for real, and each resolver call is recorded by its response path.
 * graphql-jit then runs the same document; each resolver it calls is checked against the call
 * recorded at that path (same field, same arguments, same fields of `info` the schema reads) and
 * answers what the resolver answered under graphql-js. Side effects thus happen once, mutations
 * included, and both engines complete the same values: what is compared is what the engines do
 * themselves (argument and variable coercion, which fields resolve, scalar serialization, null
 * propagation, errors). The client gets graphql-jit's answer, or an error naming the difference.
 */
export function useJitShadow(options: {
  schema: GraphQLSchema;
  enableIf: (args: { document: DocumentNode }) => boolean;
  logger: Logger;
}): Plugin {
  instrument(options.schema);
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      if (!options.enableIf(args)) return;
      const jit = executeFn as (args: ExecutionArgs) => ExecutionResult | Promise<ExecutionResult>;
      setExecuteFn((executionArgs: ExecutionArgs) => shadowExecute(executionArgs, jit, options.logger));
    },
  };
}

/** The differences found since the last call (tests assert there are none). */
export function takeJitShadowDifferences(): string[] {
  return differences.splice(0);
}

/** How many executions were compared so far. */
export function jitShadowComparisons(): number {
  return comparisons;
}

interface Call {
  field: string;
  args: unknown;
  info: unknown;
  replayed: boolean;
  outcome: { value: unknown } | { error: unknown };
}
type Run = { mode: 'record'; calls: Map<string, Call> } | { mode: 'replay'; calls: Map<string, Call>; problems: string[] };

const runs = new AsyncLocalStorage<Run>();
const differences: string[] = [];
let comparisons = 0;
const instrumented = new WeakSet<GraphQLSchema>();

async function shadowExecute(
  args: ExecutionArgs,
  jit: (args: ExecutionArgs) => ExecutionResult | Promise<ExecutionResult>,
  logger: Logger,
): Promise<ExecutionResult> {
  const calls = new Map<string, Call>();
  const reference = await runs.run({ mode: 'record', calls }, () => execute(args));
  const problems: string[] = [];
  const result = await runs.run({ mode: 'replay', calls, problems }, () => jit(args));
  comparisons += 1;
  for (const [path, call] of calls) if (!call.replayed) problems.push(`${path} (${call.field}) resolved by graphql-js only`);
  if (!sameValue(reference.data, result.data)) problems.push(`data: graphql-js ${show(reference.data)}, graphql-jit ${show(result.data)}`);
  const [jsErrors, jitErrors] = [errorList(reference), errorList(result)];
  if (!isDeepStrictEqual(jsErrors, jitErrors)) problems.push(`errors: graphql-js ${show(jsErrors)}, graphql-jit ${show(jitErrors)}`);
  if (problems.length === 0) return result;
  const difference = `${print(args.document).replace(/\s+/g, ' ')}: ${problems.join('; ')}`;
  differences.push(difference);
  logger.error({ difference }, 'graphql-jit and graphql-js differ');
  return { errors: [new GraphQLError(`graphql-jit and graphql-js differ (GRAPHQL_JIT_SHADOW): ${difference}`)] };
}

/** Wraps every explicit resolver once; outside a shadowed execution the wrapper only calls through. */
function instrument(schema: GraphQLSchema): void {
  if (instrumented.has(schema)) return;
  instrumented.add(schema);
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) if (field.resolve) field.resolve = shadowed(field.resolve);
  }
}

function shadowed(resolve: GraphQLFieldResolver<unknown, unknown>): GraphQLFieldResolver<unknown, unknown> {
  return function (this: unknown, source, args, context, info) {
    const run = runs.getStore();
    if (!run) return resolve.call(this, source, args, context, info);
    const path = pathOf(info);
    const field = `${info.parentType.name}.${info.fieldName}`;
    if (run.mode === 'record') {
      const call: Call = { field, args, info: infoRead(info), replayed: false, outcome: { value: undefined } };
      run.calls.set(path, call);
      try {
        call.outcome = { value: resolve.call(this, source, args, context, info) };
      } catch (error) {
        call.outcome = { error };
      }
      if ('error' in call.outcome) throw call.outcome.error;
      return call.outcome.value;
    }
    const call = run.calls.get(path);
    if (!call || call.field !== field) {
      run.problems.push(`${path} (${field}) resolved by graphql-jit only`);
      return null;
    }
    call.replayed = true;
    if (!sameValue(call.args, args)) run.problems.push(`${path} arguments: graphql-js ${show(call.args)}, graphql-jit ${show(args)}`);
    if (!sameValue(call.info, infoRead(info)))
      run.problems.push(`${path} info: graphql-js ${show(call.info)}, graphql-jit ${show(infoRead(info))}`);
    if ('error' in call.outcome) throw call.outcome.error;
    const value = call.outcome.value;
    return isPromise(value) ? value.then(replayable) : replayable(value);
  };
}

function isPromise(value: unknown): value is Promise<unknown> {
  return value instanceof Promise;
}

/**
 * A typed error answered by a field (Pothos errors plugin) is a proxy that stops looking like an
 * Error once the engine has matched its type; graphql-jit gets it wrapped afresh, as the plugin
 * would have returned it.
 */
function replayable(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const errorType = errorTypeMap.get(value);
  if (!errorType) return value;
  const wrapped = createErrorProxy(value, errorType, { wrapped: true });
  errorTypeMap.set(wrapped, errorType);
  return wrapped;
}

function pathOf(info: GraphQLResolveInfo): string {
  const keys: (string | number)[] = [];
  for (let at: GraphQLResolveInfo['path'] | undefined = info.path; at; at = at.prev) keys.unshift(at.key);
  return keys.join('.');
}

/** What of `info` the schema's resolvers read (the selected subfields, the fragments, the types). */
function infoRead(info: GraphQLResolveInfo) {
  return {
    returnType: String(info.returnType),
    fieldNodes: info.fieldNodes.map(printed),
    fragments: Object.keys(info.fragments).sort(),
    variableValues: info.variableValues,
  };
}

const prints = new WeakMap<object, string>();
function printed(node: GraphQLResolveInfo['fieldNodes'][number]): string {
  let text = prints.get(node);
  if (text === undefined) prints.set(node, (text = print(node)));
  return text;
}

/**
 * graphql-jit words the coercion errors of variables its own way: `Field value.crudSchema of required
 * type JSONObject! …` where graphql-js writes `Field "crudSchema" of required type "JSONObject!" …`,
 * and for a wrong type inside an input object it names the field as the variable (`Variable "$label"`
 * for `$v.label`). graphql-introspection.ts cuts both wordings for anonymous callers; here, that such
 * an error is raised (and how many) is compared, not its words. A known difference, not a drift.
 */
const VARIABLE_COERCION = /^Variable "\$[^"]*" got invalid value[\s\S]*$/;

function errorList(result: ExecutionResult): string[] {
  return (result.errors ?? [])
    .map(
      (error) =>
        `${error.path?.join('.') ?? '(request)'}: ${error.message.replace(VARIABLE_COERCION, 'Variable got invalid value (wording not compared)')}`,
    )
    .sort();
}

/** Equal as JSON-like values: null-prototype and plain objects alike, keys whose value is undefined ignored. */
function sameValue(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(plain(a), plain(b));
}

function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value === null || typeof value !== 'object') return value;
  const proto = Object.getPrototypeOf(value);
  if (proto !== null && proto !== Object.prototype) return value;
  const entries = Object.entries(value).filter(([, item]) => item !== undefined);
  return Object.fromEntries(entries.map(([key, item]) => [key, plain(item)]));
}

function show(value: unknown): string {
  try {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 400 ? `${text.slice(0, 400)}…` : text;
  } catch {
    return String(value);
  }
}
