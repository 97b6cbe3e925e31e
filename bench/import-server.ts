/**
 * The service of the import benchmark: bench/server.ts, plus a sampler of its memory during the
 * import (IPC `sample` starts it, `sampled` answers the peaks of each part of process.memoryUsage()),
 * to tell where the peak resident memory goes.
 */
import { writeHeapSnapshot } from 'node:v8';

let peaks = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
let timer: NodeJS.Timeout | undefined;
let snapshots = 0;

process.on('message', (message: { type: string }) => {
  if (message.type === 'sample') {
    peaks = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
    timer = setInterval(() => {
      const usage = process.memoryUsage();
      for (const key of Object.keys(peaks) as (keyof typeof peaks)[]) peaks[key] = Math.max(peaks[key], usage[key]);
    }, 5);
    process.send!({ sampling: true });
  }
  if (message.type === 'sampled') {
    clearInterval(timer);
    const mib = (bytes: number) => Math.round(bytes / 1_048_576);
    process.send!(Object.fromEntries(Object.entries(peaks).map(([key, value]) => [key, mib(value)])));
  }
  // BENCH_HEAP_SNAPSHOT=<folder>: a heap snapshot on demand, to see what the heap holds.
  if (message.type === 'snapshot' && process.env.BENCH_HEAP_SNAPSHOT) {
    process.send!({ path: writeHeapSnapshot(`${process.env.BENCH_HEAP_SNAPSHOT}/import-${process.pid}-${(snapshots += 1)}.heapsnapshot`) });
  }
});

await import('./server.js');
