/** Where the Timer Service calls back when a user expires. */
export const EXPIRATION_CALLBACK_PATH = '/internal/expirations';
/**
 * Whether a user's expirationDate is still ahead, so that it gets a schedule. An imported row's
 * date may have gone by: the usage page imports such rows, and its users do not expire.
 */
export function expiresLater(doc: { expirationDate?: unknown }, now: number): boolean {
  return typeof doc.expirationDate === 'string' && Date.parse(doc.expirationDate) > now;
}
/** The header carrying the callback secret; the callback route refuses calls without it. */
export const TIMER_SECRET_HEADER = 'x-ums-timer-secret';
