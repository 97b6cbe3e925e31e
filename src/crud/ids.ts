import { randomBytes } from 'node:crypto';
import { InvalidInputError } from '../errors.js';
import { badParam } from './query-params.js';

/** A MongoDB ObjectId as the CRUD Service writes it: 24 hex characters. */
export const OBJECT_ID = /^[0-9a-f]{24}$/;

const processUnique = randomBytes(5).toString('hex');
let counter = randomBytes(3).readUIntBE(0, 3);

/** A MongoDB-style ObjectId: 24 hex characters, time-ordered, unique across processes. */
export function newObjectId(now = Date.now()): string {
  counter = (counter + 1) % 0x1000000;
  const seconds = Math.floor(now / 1000)
    .toString(16)
    .padStart(8, '0');
  return seconds + processUnique + counter.toString(16).padStart(6, '0');
}

/** What the CRUD's querystring schema asks of an `_id=` parameter (an ObjectId collection). */
const ID_PATTERN = /^[a-fA-F\d]{24}$/;

/**
 * The `_id` conditions of a filter, judged as the CRUD's query parser casts them to ObjectIds
 * (`Invalid objectId`, a 400): strings of 24 hex characters or null, alone or in an operator's
 * operand (arrays item by item); `$exists` is not cast. Through `$and` and `$or`, as its parser walks.
 */
export function assertObjectIdConditions(filter: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(filter)) {
    if ((key === '$and' || key === '$or') && Array.isArray(value)) {
      for (const inner of value) if (isObject(inner)) assertObjectIdConditions(inner);
    } else if (key === '_id') {
      assertIdCondition(value);
    }
  }
}

function assertIdCondition(value: unknown): void {
  if (!isObject(value)) return assertObjectId(value);
  for (const [operator, operand] of Object.entries(value)) {
    if (operator === '$exists') continue;
    if (Array.isArray(operand)) operand.forEach(assertObjectId);
    else assertObjectId(operand);
  }
}

function assertObjectId(value: unknown): void {
  if (value === null || (typeof value === 'string' && ID_PATTERN.test(value))) return;
  throw new InvalidInputError('Invalid objectId', [{ path: ['querystring', '_q', '_id'], message: 'Invalid objectId' }]);
}

/** `_id=value`: the pattern of the CRUD's querystring schema. */
export function assertIdParam(value: string): void {
  if (ID_PATTERN.test(value)) return;
  const problem = `must match pattern "${ID_PATTERN.source}"`;
  throw badParam('_id', problem);
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
