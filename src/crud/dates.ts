/**
 * Dates as the CRUD Service casts them (`new Date(value)` on a number or a string), kept in one
 * canonical text: `Date.toISOString()`, UTC with milliseconds. Two canonical texts compare as
 * their instants do, so SQL, mingo and a sort can compare dates as plain strings.
 */

/**
 * ISO 8601: a year, a month, a date, or a date and time with an optional offset (none means UTC,
 * as on the CRUD's servers, whose `new Date()` reads it so in UTC).
 */
const YEAR_OR_MONTH = /^\d{4}(-\d{2})?$/;
const ISO = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/** The canonical text of a date given as milliseconds or as ISO 8601 text; undefined when it is not a date. */
export function canonicalDate(value: unknown): string | undefined {
  let time: number;
  if (typeof value === 'number') {
    time = value;
  } else if (typeof value === 'string') {
    const text = YEAR_OR_MONTH.test(value.trim()) ? `${value.trim()}-01-01`.slice(0, 10) : value.trim();
    const match = ISO.exec(text);
    if (!match) return undefined;
    const [, day, clock, offset] = match;
    time = Date.parse(clock ? `${day}T${clock}${normalOffset(offset)}` : `${day}T00:00:00Z`);
    // Date.parse rolls 2018-02-30 over to March: a day that does not exist is not a date.
    if (!Number.isNaN(time) && new Date(time + offsetMs(offset)).toISOString().slice(0, 10) !== day) return undefined;
  } else {
    return undefined;
  }
  if (!Number.isFinite(time)) return undefined;
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** Whether a stored value already is a canonical date. */
export function isCanonicalDate(value: unknown): boolean {
  return typeof value === 'string' && value.length === 24 && canonicalDate(value) === value;
}

function normalOffset(offset: string | undefined): string {
  if (!offset || offset.toUpperCase() === 'Z') return 'Z';
  const digits = offset.replace(':', '');
  return `${digits.slice(0, 3)}:${digits.slice(3, 5) || '00'}`;
}

function offsetMs(offset: string | undefined): number {
  if (!offset || offset.toUpperCase() === 'Z') return 0;
  const digits = offset.replace(':', '');
  const sign = digits.startsWith('-') ? -1 : 1;
  return sign * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5) || 0)) * 60_000;
}
