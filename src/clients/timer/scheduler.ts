import { z } from 'zod';
import { EXPIRATION_CALLBACK_PATH, TIMER_SECRET_HEADER } from '../../domain/expiration.js';
import type { ExpirationPayload, ExpirationScheduler } from '../../ports/expiration-scheduler.js';
import { UpstreamError } from '../../errors.js';
import type { Clock } from '../../ports/clock.js';
import { callUpstream, type UpstreamOptions, unexpectedStatus } from '../http.js';

const Scheduled = z.looseObject({ expirationId: z.string().min(1) });

/**
 * Expirations through the Mia-Platform Timer Service: `POST /schedule` with a REST output mode
 * that calls this service back at `UMS_BASE_URL` + /internal/expirations, and `POST /abort`.
 */
export function createTimerScheduler(input: {
  upstream: UpstreamOptions;
  callbackBaseUrl: string;
  secret: string;
  clock: Clock;
}): ExpirationScheduler {
  const callback = new URL(EXPIRATION_CALLBACK_PATH, input.callbackBaseUrl);
  return {
    async schedule(payload: ExpirationPayload, headers: Record<string, string>) {
      // One reading for both: the Timer fires at startDate + interval, early by any time between two.
      const now = input.clock.now();
      const call = {
        method: 'POST' as const,
        path: '/schedule',
        body: {
          payload,
          startDate: new Date(now).toISOString(),
          expirationIntervalMs: Math.max(0, Date.parse(payload.expirationDate) - now),
          applicantService: 'user-manager-service',
          outputMode: {
            type: 'rest',
            method: 'post',
            protocol: callback.protocol.replace(':', ''),
            hostname: callback.hostname,
            ...(callback.port ? { port: Number(callback.port) } : {}),
            path: callback.pathname,
            headers: { ...headers, [TIMER_SECRET_HEADER]: input.secret },
          },
        },
      };
      const reply = await callUpstream(input.upstream, call);
      if (reply.status !== 200 && reply.status !== 201) throw unexpectedStatus(input.upstream, call, reply);
      const parsed = Scheduled.safeParse(reply.body);
      if (!parsed.success)
        throw new UpstreamError('Timer', 'POST /schedule', reply.status, { message: 'Timer POST /schedule answered no expirationId' });
      return parsed.data.expirationId;
    },
    async abort(expirationId: string) {
      const call = { method: 'POST' as const, path: '/abort', body: { expirationId } };
      const reply = await callUpstream(input.upstream, call);
      if (reply.status >= 300) throw unexpectedStatus(input.upstream, call, reply);
    },
  };
}
