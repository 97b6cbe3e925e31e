/**
 * Puts `name` on Object.prototype while `run` runs, as a pollution would, then removes it. Not
 * enumerable: lookups by name (what the attacks rely on) see it, while the `for…in` loops of
 * libraries that run meanwhile in the same worker (prom-client's GC observer, whose label check
 * throws on an unknown key) do not trip over it and fail an unrelated file.
 */
export async function withPollutedPrototype<T>(name: string, value: unknown, run: () => Promise<T>): Promise<T> {
  Object.defineProperty(Object.prototype, name, { value, configurable: true, writable: true, enumerable: false });
  try {
    return await run();
  } finally {
    delete (Object.prototype as Record<string, unknown>)[name];
  }
}
