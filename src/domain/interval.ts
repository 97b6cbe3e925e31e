import { CronExpressionParser } from 'cron-parser';
import ms from 'ms';

/** How long to wait from `now` (ms since the epoch) until the next run. */
export type Interval = (now: number) => number;

/**
 * An interval written as the original's Agenda jobs take it: milliseconds (`5000`), a human duration
 * (`2 minutes`, `10s`), or a cron expression (`*\/2 * * * *`, the wait until its next tick).
 * Undefined when it is none of them.
 */
export function parseInterval(text: string): Interval | undefined {
  const trimmed = text.trim();
  const duration = /^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : ms(trimmed as ms.StringValue);
  if (typeof duration === 'number' && Number.isFinite(duration) && duration > 0) return () => duration;
  if (trimmed.split(/\s+/).length < 5) return undefined;
  try {
    CronExpressionParser.parse(trimmed);
  } catch {
    return undefined;
  }
  return (now) => CronExpressionParser.parse(trimmed, { currentDate: now }).next().getTime() - now;
}
