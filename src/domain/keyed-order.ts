import pLimit from 'p-limit';

/**
 * `work` on every item, `concurrency` at most at once, and the items of one key one after another
 * in their order (the rows of one user in a file: run together, they would meet each other's lock).
 * Answers in the items' order.
 */
export function inKeyOrder<T, R>(items: readonly T[], keyOf: (item: T) => string, concurrency: number, work: (item: T) => Promise<R>) {
  const limit = pLimit(concurrency);
  const last = new Map<string, Promise<R>>();
  return Promise.all(
    items.map((item) => {
      const run = () => limit(() => work(item));
      const previous = last.get(keyOf(item));
      const mine = previous ? previous.then(run) : run();
      last.set(keyOf(item), mine);
      return mine;
    }),
  );
}
