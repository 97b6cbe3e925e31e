/**
 * npx tsx bench/cpu-profile.ts <file.cpuprofile> [top]: self time per function of a V8 CPU profile
 * (what `BENCH_CPU_PROF=<dir>` makes the benchmark's children write), largest first, the share
 * of the samples spent in the functions of each file, and the total time (self and callees) of
 * the service's own functions (src/, or dist/ for the build the benchmark's service runs).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, top = '40'] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file!, 'utf8')) as Profile;
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const self = new Map<number, number>();
profile.samples.forEach((id, index) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
const total = [...self.values()].reduce((sum, value) => sum + value, 0);
const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const [id, micros] of self) {
  const { functionName, url, lineNumber } = nodes.get(id)!.callFrame;
  const where = url.replace(/^.*?\/(node_modules|src|dist)\//, '$1/');
  const name = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
  byFile.set(where || '(native)', (byFile.get(where || '(native)') ?? 0) + micros);
}
const parents = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
const inclusive = new Map<string, number>();
for (const [id, micros] of self) {
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
    const { functionName, url, lineNumber } = nodes.get(at)!.callFrame;
    if (!process.env.ALL && (url.includes('/node_modules/') || !/\/(src|dist)\//.test(url))) continue;
    const name = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(src|dist)\//, '$1/')}:${lineNumber + 1}`;
    if (!seen.has(name)) inclusive.set(name, (inclusive.get(name) ?? 0) + micros);
    seen.add(name);
  }
}
const print = (title: string, entries: Map<string, number>) => {
  console.log(`\n${title} (of ${(total / 1000).toFixed(0)} ms)`);
  for (const [name, micros] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
    process.stdout.write(`${((100 * micros) / total).toFixed(1).padStart(5)}%  ${name}\n`);
  }
};
print('self time by function', byFunction);
print('self time by file', byFile);
print("total time (self and callees) of the service's functions", inclusive);
