import { randomBytes } from 'node:crypto';

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
