import type { ExpirationScheduler } from '../../src/ports/expiration-scheduler.js';

/**
 * `scheduler`, recording in `live` the schedules it made and has not aborted (schedule id -> user
 * id): what the Timer Service still holds. `beforeAbort` runs before each abort: it may throw (an
 * abort that fails) or never settle (the process "dies" there).
 */
export function recordingScheduler(
  scheduler: ExpirationScheduler,
  live: Map<string, string>,
  beforeAbort?: (id: string) => Promise<void> | void,
): ExpirationScheduler {
  return {
    ...scheduler,
    start: scheduler.start?.bind(scheduler),
    stop: scheduler.stop?.bind(scheduler),
    async schedule(payload, headers) {
      const id = await scheduler.schedule(payload, headers);
      live.set(id, payload.userId);
      return id;
    },
    async abort(id) {
      await beforeAbort?.(id);
      await scheduler.abort(id);
      live.delete(id);
    },
  };
}
