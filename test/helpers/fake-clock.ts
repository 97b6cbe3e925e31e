import { setImmediate } from 'node:timers/promises';
import type { Clock, Timer } from '../../src/ports/clock.js';

interface Scheduled {
  id: number;
  at: number;
  every?: number;
  callback: () => void;
  owner: FakeClock;
}

/** The time that every FakeClock of a test shares, and the timers they set. */
class FakeTime {
  ms: number;
  readonly timers = new Map<number, Scheduled>();
  private lastId = 0;

  constructor(start: number) {
    this.ms = start;
  }

  add(timer: Omit<Scheduled, 'id'>): number {
    this.lastId += 1;
    this.timers.set(this.lastId, { ...timer, id: this.lastId });
    return this.lastId;
  }

  /** The earliest timer due by `end` (ties in the order they were set). */
  next(end: number): Scheduled | undefined {
    let found: Scheduled | undefined;
    for (const timer of this.timers.values()) if (timer.at <= end && (!found || timer.at < found.at)) found = timer;
    return found;
  }
}

/**
 * A clock that moves only when a test says so. Timers fire in time order while `advance` moves
 * through them, with the promise chains and I/O they start settled between two firings. Clocks made
 * by `replica()` share its time: a replica can be `kill`ed (its timers never fire again, as when its
 * process dies) while the others go on.
 */
export class FakeClock implements Clock {
  private dead = false;

  constructor(private readonly time = new FakeTime(Date.now())) {}

  /** Another process's clock, on the same time. */
  replica(): FakeClock {
    return new FakeClock(this.time);
  }

  /** This clock's process died: none of its timers fires from now on. */
  kill(): void {
    this.dead = true;
    for (const timer of [...this.time.timers.values()]) if (timer.owner === this) this.time.timers.delete(timer.id);
  }

  now(): number {
    return this.time.ms;
  }

  setTimeout(callback: () => void, ms: number): Timer {
    return this.schedule(callback, ms);
  }

  setInterval(callback: () => void, ms: number): Timer {
    return this.schedule(callback, ms, Math.max(1, ms));
  }

  clearTimer(timer: Timer | undefined): void {
    if (timer instanceof FakeTimer) this.time.timers.delete(timer.id);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  /** Moves time forward by `ms`, firing the timers that come due on the way. */
  async advance(ms: number): Promise<void> {
    const end = this.time.ms + ms;
    await settle();
    for (let timer = this.time.next(end); timer; timer = this.time.next(end)) {
      this.time.ms = Math.max(this.time.ms, timer.at);
      if (timer.every === undefined) this.time.timers.delete(timer.id);
      else timer.at += timer.every;
      timer.callback();
      await settle();
    }
    this.time.ms = end;
    await settle();
  }

  /**
   * Moves time forward by `ms` in steps of `step`, with 10 ms of real time after each: work a timer
   * starts that waits on more than a few turns of the loop (a lease renewal's round trip to an
   * emulator, a repair's steps) lands before the clock moves on.
   */
  async advanceInSteps(ms: number, step: number): Promise<void> {
    for (let moved = 0; moved < ms; moved += step) {
      await this.advance(step);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private schedule(callback: () => void, ms: number, every?: number): Timer {
    if (this.dead) return new FakeTimer(0);
    return new FakeTimer(this.time.add({ at: this.time.ms + Math.max(0, ms), every, callback, owner: this }));
  }
}

class FakeTimer implements Timer {
  constructor(readonly id: number) {}
  unref(): this {
    return this;
  }
}

/** Lets promise chains and pending I/O (an SQLite call, an emulator's answer on loopback) run. */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 5; turn += 1) await setImmediate();
}
