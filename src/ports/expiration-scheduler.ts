/** Account expiry: the Timer Service, or the embedded scheduler. */

/** What a schedule carries back when it fires: whose expiry, and for which date. */
export interface ExpirationPayload {
  userId: string;
  expirationDate: string;
}

/** Blocks users when their `expirationDate` passes. */
export interface ExpirationScheduler {
  /**
   * Schedules the blocking of a user at its expiration date; answers the schedule's id
   * (`expirationId`). `headers` are request headers to send back with the callback.
   */
  schedule(payload: ExpirationPayload, headers: Record<string, string>): Promise<string>;
  /** Cancels a pending schedule. */
  abort(expirationId: string): Promise<void>;
  /** Embedded schedulers fire by themselves: start polling with the operation that blocks a user. */
  start?(fire: (payload: ExpirationPayload, expirationId: string) => Promise<void>): void;
  stop?(): void;
}
