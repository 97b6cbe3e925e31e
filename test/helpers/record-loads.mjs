// Preloaded with `node --import` by test/lazy-modules.test.ts: every module the process loads
// (ESM, and CommonJS packages imported from ESM) is appended, one URL a line, to the file named by
// LOADED_MODULES_FILE. The same file is the hooks module, run in the loader's own thread.
import { appendFileSync } from 'node:fs';
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) register(import.meta.url);

export async function load(url, context, nextLoad) {
  const loaded = await nextLoad(url, context);
  appendFileSync(process.env.LOADED_MODULES_FILE, `${url}\n`);
  return loaded;
}
