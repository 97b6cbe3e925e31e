/**
 * A fixed number of places for work that may run at once on this replica: `take` answers the
 * function that gives the place back (once, however often it is called), or throws `refusal()`
 * when every place is taken.
 */
export class Places {
  private taken = 0;

  constructor(
    private readonly max: number,
    private readonly refusal: () => Error,
  ) {}

  /** Places taken now (for tests and metrics). */
  get inUse(): number {
    return this.taken;
  }

  take(): () => void {
    if (this.taken >= this.max) throw this.refusal();
    this.taken += 1;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.taken -= 1;
    };
  }
}
