import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ExpirationPayload, ExpirationScheduler } from '../ports/expiration-scheduler.js';
import type { Clock, Timer } from '../ports/clock.js';
import type { Db } from './db.js';

interface ScheduleRow {
  id: string;
  user_id: string;
  expiration_date: string;
  fire_at: number;
}

/** How long a process may take to fire a schedule before another one may take it over. */
const CLAIM_MS = 60_000;

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
            `SELECT id, user_id, expiration_date, fire_at FROM schedules
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
      // Left in 'firing': another poll (here or in another process) retries it once the claim expires.
      this.logger.error({ err: error, expirationId: row.id, userId: row.user_id }, 'could not block an expired user');
    }
  }
}
