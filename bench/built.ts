import { existsSync } from 'node:fs';

/**
 * A module of the service's build (dist/, what `npm start` and the container run), typed as its
 * source: `await built<typeof import('../src/app.js')>('app.js')`. The services under benchmark
 * run the build, not src/ through tsx: tsx's transform keeps function names by wrapping every
 * closure the code creates in a `__name` call, work production never does (3–5 µs of a count's
 * 13–17 µs in one process, docs/decisions.md). `npm run bench` builds first. BENCH_DIST names
 * another build folder (a copy of an earlier build), to compare two builds in turn on one machine.
 */
export async function built<T>(path: string): Promise<T> {
  const url = new URL(`../${process.env.BENCH_DIST ?? 'dist'}/${path}`, import.meta.url);
  if (!existsSync(url)) throw new Error(`${url.pathname} is missing: run npm run build first (npm run bench does)`);
  return (await import(url.href)) as T;
}
