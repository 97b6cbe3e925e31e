import { helpText } from './help.js';
import { SERVICE } from './package-info.js';

/**
 * The command-line arguments: `--version` and `--help` print and answer true (the service does not
 * start); none answers false (start); anything else is refused with exit code 2, since the
 * configuration comes from the environment only.
 */
export function runCommand(args: string[]): boolean {
  const [command] = args;
  if (command === undefined) return false;
  if (command === '--version' || command === '-v') process.stdout.write(`${SERVICE.name} ${SERVICE.version}\n`);
  else if (command === '--help' || command === '-h') process.stdout.write(helpText());
  else {
    process.stderr.write(`unknown argument "${command}": the configuration is read from the environment (see --help)\n`);
    process.exitCode = 2;
  }
  return true;
}
