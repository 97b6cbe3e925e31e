/**
 * npm run bench [embedded|gateway]: every benchmark (or the one named). Each writes
 * bench/results/<name>.json and its table in README.md.
 */
import { runEmbedded } from './embedded.js';
import { runGateway } from './gateway.js';

const suites = { embedded: runEmbedded, gateway: runGateway };
const wanted = process.argv.slice(2);
for (const [name, run] of Object.entries(suites)) {
  if (wanted.length === 0 || wanted.includes(name)) await run();
}
