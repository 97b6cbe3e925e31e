/**
 * How much of a caller's input an answer repeats. Kept apart from input-limits.ts: errors.ts cuts
 * every message with it, and input-limits.ts imports errors.ts.
 */

/**
 * The most of a caller's id (a user, identity, job or group name) an answer repeats. Ids are far
 * shorter (an ObjectId is 24 characters, Auth0's about 30); a 404 repeated a 100,000-character one
 * whole, a 100 KB answer.
 */
export const MAX_SHOWN_ID = 128;

/** An id as an answer repeats it: whole up to MAX_SHOWN_ID characters, else its start and `…`. */
export function shownId(id: unknown): string {
  return cutText(String(id), MAX_SHOWN_ID);
}

/** `text` whole up to `max` characters, else its first `max` (not half a surrogate pair at the cut) and `…`. */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = /[\ud800-\udbff]/.test(text[max - 1]!) ? max - 1 : max;
  return `${text.slice(0, end)}…`;
}

/**
 * The longest message an answer gives: a message says what is wrong in a sentence or a list (ten
 * ids of 128 characters at most); only a caller's name or value made one longer.
 */
export const MAX_SHOWN_MESSAGE = 2048;

/** A run of characters with no separator: a name or value a message repeats, or a word. */
const LONG_RUN = new RegExp(`[^\\s/"':,]{${MAX_SHOWN_ID + 1},}`, 'g');

/**
 * A message as an answer gives it: each run of characters without a space, `/`, quote, `:` or `,`
 * (a caller's operator, field, key, cursor or enum value) cut as an id is (`shownId`), then the
 * whole at most MAX_SHOWN_MESSAGE characters and `…` (a name of many short words). A usual message
 * is unchanged; a cut one is left as it is by a second pass.
 */
export function shownText(text: string): string {
  if (text.length <= MAX_SHOWN_ID) return text;
  const cut = text.replace(LONG_RUN, (run) => shownId(run));
  return cut.length <= MAX_SHOWN_MESSAGE + 1 ? cut : cutText(cut, MAX_SHOWN_MESSAGE);
}
