/**
 * The gateway's own cost in connected mode: GET /users/?_l=100 and GET /users/count through the
 * service versus the same calls straight to the CRUD emulator, in one run. Targets: under 1 ms
 * added at p50, at least 80% of the upstream's throughput, one upstream call per request.
 */
import { ask, CONNECTIONS, DURATION, runInfo, measure, publish, sequentialLatency, startChild } from './lib.js';

const USERS = 2000;
const API_KEY = 'bench-key';

export async function runGateway(): Promise<void> {
  const crud = await startChild<{ url: string }>('./crud-server.ts', { BENCH_USERS: String(USERS) });
  const service = await startChild<{ port: number }>('./server.ts', { BENCH_CRUD_URL: crud.ready.url, BENCH_API_KEY: API_KEY });
  const base = `http://127.0.0.1:${service.ready.port}`;
  const calls = [
    { name: 'GET /users/?_l=100', path: '/users/?_l=100' },
    { name: 'GET /users/count', path: '/users/count' },
  ];
  const results = [];
  for (const call of calls) {
    const directTarget = { url: crud.ready.url + call.path };
    const serviceTarget = { url: base + call.path, headers: { 'x-api-key': API_KEY } };
    const directLatency = await sequentialLatency(directTarget);
    const serviceLatency = await sequentialLatency(serviceTarget);
    const direct = await measure(directTarget);
    let cpuBefore = 0;
    const viaService = await measure(serviceTarget, async () => {
      crud.child.send({ type: 'reset' });
      cpuBefore = (await ask<{ cpuMicros: number }>(service.child, 'cpu')).cpuMicros;
    });
    const cpuMicrosPerRequest = ((await ask<{ cpuMicros: number }>(service.child, 'cpu')).cpuMicros - cpuBefore) / viaService.total;
    const { requests } = await ask<{ requests: number }>(crud.child, 'counts');
    results.push({
      call: call.name,
      directLatency,
      serviceLatency,
      direct,
      viaService,
      addedP50Ms: Number((serviceLatency.p50Ms - directLatency.p50Ms).toFixed(3)),
      throughputRatio: Number((viaService.requestsPerSecond / direct.requestsPerSecond).toFixed(2)),
      // What the service could serve with a core of its own, against what the emulator serves with one.
      serviceCpuMicrosPerRequest: Math.round(cpuMicrosPerRequest),
      ownCoreCapacityRatio: Number((1e6 / cpuMicrosPerRequest / direct.requestsPerSecond).toFixed(2)),
      upstreamCallsPerRequest: Number((requests / viaService.total).toFixed(2)),
    });
    console.log(results.at(-1));
  }
  service.child.send({ type: 'stop' });
  crud.child.send({ type: 'stop' });

  const summary = {
    ...runInfo(USERS),
    results,
  };
  publish(
    'gateway',
    summary,
    [
      `Connected mode: the CRUD emulator with ${USERS.toLocaleString('en')} users, called directly and through the service (three processes on one 2-core machine, ${CONNECTIONS} connections, ${DURATION} s each, ${summary.date.slice(0, 10)}):`,
      '',
      '| call | direct p50 ms (1 conn.) | via service p50 ms (1 conn.) | added p50 ms | direct req/s | via service req/s | throughput kept | service CPU µs / request | on a core of its own | upstream calls / request |',
      '|---|---|---|---|---|---|---|---|---|---|',
      ...results.map(
        (r) =>
          `| ${r.call} | ${r.directLatency.p50Ms} | ${r.serviceLatency.p50Ms} | ${r.addedP50Ms} | ${r.direct.requestsPerSecond} | ${r.viaService.requestsPerSecond} | ${Math.round(r.throughputRatio * 100)}% | ${r.serviceCpuMicrosPerRequest} | ${Math.round(r.ownCoreCapacityRatio * 100)}% | ${r.upstreamCallsPerRequest} |`,
      ),
      '',
      "Targets: under 1 ms added at p50, at least 80% of the throughput kept, 1 upstream call per request. Latency is measured one request at a time; throughput under load, where the service, the emulator and the load generator share the same 2 cores, so the service's CPU comes out of the emulator's share. \"On a core of its own\" is what the service's measured CPU per request would serve on one core, against the emulator's direct throughput (itself on about one core).",
    ].join('\n'),
  );
}
