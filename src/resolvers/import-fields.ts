import { z } from 'zod';
import { SERVICE_FIELDS } from './inputs.js';
import { MAX_LOGIN_NAME } from '../domain/input-limits.js';

/** Fields an imported row may not set (ImportedUserRow's refusals). */
const REFUSED_FIELDS = [...SERVICE_FIELDS, 'authUserId', 'password'];

/**
 * ImportedUserRow's checks for the plain case, without zod: its safeParse on each of 100,000
 * rows left objects that outlived the young generation (measured: 0.85 MB promoted per scavenge,
 * 25 KB without it), so the old generation grew by tens of MB during an import. A row this
 * accepts, zod accepts (same email pattern, `in` as its refusal checks); any other (an
 * expirationDate, a refused field, a wrong type) goes through zod, for zod's exact messages.
 */
export function plainStandardFields(doc: Record<string, unknown>): boolean {
  const { userGroup, username, email, blocked, roles } = doc;
  if (typeof userGroup !== 'string' || userGroup.length === 0) return false;
  if (username !== undefined && (typeof username !== 'string' || username.length === 0 || username.length > MAX_LOGIN_NAME)) return false;
  if (email !== undefined && (typeof email !== 'string' || email.length > MAX_LOGIN_NAME || !z.regexes.email.test(email))) return false;
  if (blocked !== undefined && typeof blocked !== 'boolean') return false;
  if (roles !== undefined && !(Array.isArray(roles) && roles.every((role) => typeof role === 'string'))) return false;
  return doc.expirationDate === undefined && !REFUSED_FIELDS.some((field) => field in doc);
}
