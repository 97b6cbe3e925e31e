import { readFileSync } from 'node:fs';
import { SERVICE } from './package-info.js';

const WIDTH = 100;

/** A markdown cell as plain text: no code spans, no escaped pipes. */
const plain = (cell: string) => cell.trim().replaceAll('`', '').replaceAll('\\|', '|');

/** `text` cut into lines of at most WIDTH characters, each indented by `indent`. */
function wrap(text: string, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent.length + line.length + 1 + word.length > WIDTH) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines;
}

/**
 * The configuration reference printed by `--help`: the tables of docs/configuration.md (the one
 * reference, so the two cannot drift apart), one variable per entry with its default and meaning.
 */
export function configurationReference(markdown: string): string[] {
  const out: string[] = [];
  for (const row of markdown.split('\n')) {
    if (row.startsWith('## ')) out.push('', `${row.slice(3).trim()}:`);
    const cells = row.startsWith('| `') ? row.slice(1, row.endsWith('|') ? -1 : undefined).split(/(?<!\\)\|/) : undefined;
    if (!cells || cells.length < 3) continue;
    const [name, fallback, ...meaning] = cells.map(plain);
    out.push(`  ${name}${fallback === '–' || fallback === '' ? '' : `  (default: ${fallback})`}`, ...wrap(meaning.join(' | '), '      '));
  }
  return out;
}

/** The whole `--help` text. */
export function helpText(): string {
  const docs = new URL('../../docs/configuration.md', import.meta.url);
  return [
    `${SERVICE.name} ${SERVICE.version}`,
    '',
    'Usage: node dist/main.js            start the service (npm start builds dist/ first)',
    '       node dist/main.js --version  print the name and version',
    '       node dist/main.js --help     print this reference',
    '       node dist/backup.js FILE     copy the embedded store to FILE while the service runs (npm run backup -- FILE)',
    '',
    'Configuration: environment variables, read once at start (docs/configuration.md).',
    ...configurationReference(readFileSync(docs, 'utf8')),
    '',
  ].join('\n');
}
