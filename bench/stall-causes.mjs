/**
 * What ran during each event-loop stall of a benchmarked service: node bench/stall-causes.mjs <profile.cpuprofile> <stalls.json>,
 * from a run with BENCH_CPU_PROF=<folder> and BENCH_STALLS=<folder>/stalls (the stalls file of the same pid).
 * Prints, per stall, the functions sampled in it (self time) and the service's frames above them.
 */
import { readFileSync } from 'node:fs';
const prof = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const stalls = JSON.parse(readFileSync(process.argv[3], 'utf8'));
const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const name = (n) =>
  `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;
let t = prof.startTime;
const times = prof.samples.map((_, i) => (t += prof.timeDeltas[i]));
const agg = new Map();
for (const [end, ms] of stalls) {
  const from = end - ms * 1000;
  const incl = new Map(),
    self = new Map();
  let count = 0;
  for (let i = 0; i < times.length; i++) {
    if (times[i] < from || times[i] > end) continue;
    count++;
    let id = prof.samples[i];
    self.set(name(nodes.get(id)), (self.get(name(nodes.get(id))) ?? 0) + 1);
    const seen = new Set();
    while (id !== undefined) {
      const nm = name(nodes.get(id));
      if (!seen.has(nm)) {
        seen.add(nm);
        incl.set(nm, (incl.get(nm) ?? 0) + 1);
      }
      id = parent.get(id);
    }
  }
  const top = (m, k, f = () => true) =>
    [...m]
      .filter(([n]) => f(n))
      .sort((x, y) => y[1] - x[1])
      .slice(0, k)
      .map(([n, c]) => `    ${c} ${n}`)
      .join('\n');
  console.log(
    `\n== ${ms} ms at +${((from - prof.startTime) / 1e6).toFixed(2)} s (${count} samples)\n  self:\n${top(self, 5)}\n  inclusive:\n${top(incl, 14, (n) => /src\/|bench\/|JSON|stringify|parse|garbage/.test(n))}`,
  );
}
