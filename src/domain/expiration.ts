/** Where the Timer Service calls back when a user expires. */
export const EXPIRATION_CALLBACK_PATH = '/internal/expirations';
/** The header carrying the callback secret; the callback route refuses calls without it. */
export const TIMER_SECRET_HEADER = 'x-ums-timer-secret';
