import { readFileSync } from 'node:fs';

export interface Instruction {
  keyword: string;
  args: string;
}

/** The instructions of a Dockerfile: comments dropped, `\` continuations joined. */
export function instructions(path: string): Instruction[] {
  const joined = readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .replaceAll(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return { keyword: keyword!.toUpperCase(), args: rest.join(' ') };
    });
}

export interface RuntimeStage {
  /** Every FROM of the file (every stage's base image). */
  bases: string[];
  env: Record<string, string>;
  /** COPY instructions of the last stage: `from` is the stage copied from, or undefined (the build context). */
  copies: { from?: string; sources: string[]; destination: string }[];
  user?: string;
  volumes: string[];
  cmd: string[];
  healthcheck: string[];
}

/** What the last stage (the image that runs) holds and runs. */
export function runtimeStage(path: string): RuntimeStage {
  const all = instructions(path);
  const bases = all.filter((i) => i.keyword === 'FROM').map((i) => i.args.split(/\s+/)[0]!);
  const last = all.slice(all.findLastIndex((i) => i.keyword === 'FROM') + 1);
  const stage: RuntimeStage = { bases, env: {}, copies: [], volumes: [], cmd: [], healthcheck: [] };
  for (const { keyword, args } of last) {
    if (keyword === 'ENV') for (const [, name, value] of args.matchAll(/(\w+)=(\S+)/g)) stage.env[name!] = value!;
    if (keyword === 'COPY') {
      const words = args.split(/\s+/);
      const from = words.find((word) => word.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((word) => !word.startsWith('--'));
      stage.copies.push({ from, sources: paths.slice(0, -1), destination: paths.at(-1)! });
    }
    if (keyword === 'USER') stage.user = args;
    if (keyword === 'VOLUME') stage.volumes.push(...(JSON.parse(args) as string[]));
    if (keyword === 'CMD') stage.cmd = JSON.parse(args) as string[];
    if (keyword === 'HEALTHCHECK') stage.healthcheck = JSON.parse(args.slice(args.indexOf('CMD ') + 4)) as string[];
  }
  return stage;
}
