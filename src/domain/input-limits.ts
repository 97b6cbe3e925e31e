import { InvalidInputError } from '../errors.js';

export interface InputLimitOptions {
  /** Most values (objects, arrays and scalars together) accepted; no limit when absent. */
  maxNodes?: number;
  /** Names the input in the message: "variables", "body"… */
  name?: string;
}

/**
 * Refuses a client value (parsed JSON: GraphQL variables, a REST body) nested deeper than `maxDepth`
 * containers, or holding more than `maxNodes` values, with an InvalidInputError (400).
 * Call it before anything recursive touches the value (coercion, validation, a filter compiler):
 * a 60,000-deep object overflows their stack. It walks with its own stack, so it never does, and
 * stops at the first container past a limit. Only arrays and plain objects are entered; any other
 * object (a Date, an upload) counts as one value. `{}` and `[]` are depth 1, a scalar depth 0.
 */
export function assertMaxDepth(value: unknown, maxDepth: number, options: InputLimitOptions = {}): void {
  const name = options.name ?? 'input';
  const maxNodes = options.maxNodes ?? Number.POSITIVE_INFINITY;
  const refuse = (message: string): never => {
    throw new InvalidInputError(message, [{ path: [name], message }]);
  };
  const tooDeep = () => refuse(`${name} is nested more than ${maxDepth} levels deep`);
  const tooMany = () => refuse(`${name} holds more than ${maxNodes} values`);

  if (maxNodes < 1) tooMany();
  if (!isContainer(value)) return;
  if (maxDepth < 1) tooDeep();
  const containers: (unknown[] | Record<string, unknown>)[] = [value];
  const depths: number[] = [1];
  let nodes = 1;
  while (containers.length > 0) {
    const container = containers.pop()!;
    const depth = depths.pop()!;
    const children = Array.isArray(container) ? container : Object.values(container);
    nodes += children.length;
    if (nodes > maxNodes) tooMany();
    for (const child of children) {
      if (!isContainer(child)) continue;
      if (depth + 1 > maxDepth) tooDeep();
      containers.push(child);
      depths.push(depth + 1);
    }
  }
}

function isContainer(value: unknown): value is unknown[] | Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return true;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
