import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ExpirationPayload, ExpirationScheduler } from '../ports/expiration-scheduler.js';
import type { Clock, Timer } from '../ports/clock.js';
import { ConflictError } from '../errors.js';
import type { Db } from './db.js';

interface ScheduleRow {
  id: string;
  user_id: string;
  expiration_date: string;
  fire_at: number;
  busy_tries: number;
}

/** How long a process may take to fire a schedule before another one may take it over. */
const CLAIM_MS = 60_000;
/** The first wait before a schedule whose user another write held fires again; doubled at each busy answer in a row, up to CLAIM_MS. */
export const BUSY_RETRY_MS = 2_000;

/**
 * Expiration schedules in the embedded store, fired by a poller within `pollMs` of their instant,
 * including those that came due while the service was stopped. A schedule is claimed with one
 * conditional UPDATE, so several processes on the same file fire it once.
 */
export class EmbeddedScheduler implements ExpirationScheduler {
  private timer?: Timer;
  private readonly owner = randomUUID();
  private running = false;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly pollMs: number,
    private readonly clock: Clock,
  ) {}

  async schedule(payload: ExpirationPayload): Promise<string> {
    const id = randomUUID();
    this.db
      .prepare("INSERT INTO schedules (id, user_id, expiration_date, fire_at, status) VALUES (?, ?, ?, ?, 'pending')")
      .run(id, payload.userId, payload.expirationDate, Date.parse(payload.expirationDate));
    return id;
  }

  async abort(expirationId: string): Promise<void> {
    this.db.prepare("UPDATE schedules SET status = 'aborted' WHERE id = ? AND status = 'pending'").run(expirationId);
  }

  start(fire: (payload: ExpirationPayload, expirationId: string) => Promise<void>): void {
    const tick = async () => {
      if (this.running) return;
      this.running = true;
      try {
        for (let row = this.claimNext(); row; row = this.claimNext()) await this.fireOne(row, fire);
      } finally {
        this.running = false;
      }
    };
    void tick();
    this.timer = this.clock.setInterval(() => void tick(), this.pollMs);
    this.timer.unref();
  }

  stop(): void {
    this.clock.clearTimer(this.timer);
  }

  /** The next due schedule, claimed for this process (or one whose previous claimer died). */
  private claimNext(): ScheduleRow | undefined {
    const now = this.clock.now();
    return this.db
      .transaction(() => {
        const row = this.db
          .prepare<[number, number], ScheduleRow>(
            `SELECT id, user_id, expiration_date, fire_at, busy_tries FROM schedules
           WHERE fire_at <= ? AND (status = 'pending' OR (status = 'firing' AND claimed_until < ?)) ORDER BY fire_at LIMIT 1`,
          )
          .get(now, now);
        if (!row) return undefined;
        this.db
          .prepare("UPDATE schedules SET status = 'firing', claimed_by = ?, claimed_until = ? WHERE id = ?")
          .run(this.owner, now + CLAIM_MS, row.id);
        return row;
      })
      .immediate();
  }

  private async fireOne(row: ScheduleRow, fire: (payload: ExpirationPayload, expirationId: string) => Promise<void>): Promise<void> {
    try {
      await fire({ userId: row.user_id, expirationDate: row.expiration_date }, row.id);
      this.db.prepare("UPDATE schedules SET status = 'done' WHERE id = ? AND claimed_by = ?").run(row.id, this.owner);
    } catch (error) {
      if (error instanceof ConflictError && error.code === 'USER_BUSY') return this.backOff(row);
      // Left in 'firing': another poll (here or in another process) retries it once the claim expires.
      // The busy answers are counted in a row: a later one backs off 2 s again, not where they stopped.
      this.db.prepare('UPDATE schedules SET busy_tries = 0 WHERE id = ? AND claimed_by = ?').run(row.id, this.owner);
      this.logger.error({ err: error, expirationId: row.id, userId: row.user_id }, 'could not block an expired user');
    }
  }

  /**
   * Another write held the user: its claim is cut short, so a poll (here or in another process)
   * fires it again soon rather than once the whole claim lapses (the user left unblocked meanwhile).
   * Still 'firing' in the store until then: never fired twice at once, and not lost if this process dies.
   */
  private backOff(row: ScheduleRow): void {
    const wait = Math.min(CLAIM_MS, BUSY_RETRY_MS * 2 ** Math.min(row.busy_tries, 16));
    this.db
      .prepare("UPDATE schedules SET claimed_until = ?, busy_tries = busy_tries + 1 WHERE id = ? AND status = 'firing' AND claimed_by = ?")
      .run(this.clock.now() + wait, row.id, this.owner);
    this.logger.warn(
      { expirationId: row.id, userId: row.user_id, retryInMs: wait },
      'an expired user is held by another write: tried again later',
    );
  }
}
