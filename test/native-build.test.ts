import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/**
 * The service prepares SQLite statements all the time and lets the garbage collector finalize them.
 * better-sqlite3 12 compiled against the headers of Node.js 24.19 or later aborts the process
 * (`Assertion failed: (env) != nullptr`, SIGABRT) when a collection run outside JavaScript (an idle
 * or scheduled one) finalizes a statement: this happens within two seconds of this loop.
 * scripts/with-node24 and the Dockerfile build it against older headers (docs/decisions.md); this
 * test fails on a build that would crash the service.
 */
const SCRIPT = `
const Database = require('better-sqlite3');
const db = new Database(':memory:');
let n = 0;
const timer = setInterval(() => { for (let i = 0; i < 2000; i += 1) db.prepare('SELECT ' + n++).get(); }, 5);
setTimeout(() => { clearInterval(timer); db.close(); console.log('finalized', n); }, 2000);
`;

describe(`better-sqlite3 on Node.js ${process.version}`, () => {
  it('survives the garbage collection of many statements (no abort in a finalizer)', async () => {
    const { stdout } = await run(process.execPath, ['-e', SCRIPT], { timeout: 30_000 });
    expect(stdout).toMatch(/^finalized \d+/);
  }, 40_000);
});
