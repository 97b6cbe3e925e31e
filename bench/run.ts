/**
 * npm run bench [startup|embedded|gateway|auth0|import|export|activation|hung-upstream|crash|observability|console]: every benchmark (or the one named). Each writes
 * bench/results/<name>.json and its table in README.md.
 */
import { runAuth0 } from './auth0.js';
import { runEmbedded } from './embedded.js';
import { runGateway } from './gateway.js';
import { runImport } from './import.js';
import { runExport } from './export.js';
import { runActivation } from './activation.js';
import { runHungUpstream } from './hung-upstream.js';
import { runCrash } from './crash.js';
import { runObservability } from './observability.js';
import { runConsole } from './console.js';
import { runStartup } from './startup.js';

const suites = {
  startup: runStartup,
  embedded: runEmbedded,
  gateway: runGateway,
  auth0: runAuth0,
  import: runImport,
  export: runExport,
  activation: runActivation,
  'hung-upstream': runHungUpstream,
  crash: runCrash,
  observability: runObservability,
  console: runConsole,
};
const wanted = process.argv.slice(2);
for (const [name, run] of Object.entries(suites)) {
  if (wanted.length === 0 || wanted.includes(name)) await run();
}
