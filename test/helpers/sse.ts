/** A GraphQL subscription read over yoga's Server-Sent Events transport, as a browser's EventSource would. */
export interface SseEvent {
  event: string;
  data: any;
}

export interface Subscription {
  /** The next event (`next` or `complete`); rejects when the stream ends without one. */
  next(): Promise<SseEvent>;
  /** Every event until the stream ends. */
  rest(): Promise<SseEvent[]>;
  close(): void;
  status: number;
}

export async function subscribeSse(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  headers: Record<string, string>,
): Promise<Subscription> {
  const address = new URL('/graphql', url);
  address.searchParams.set('query', query);
  address.searchParams.set('variables', JSON.stringify(variables));
  const abort = new AbortController();
  const response = await fetch(address, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const queue: SseEvent[] = [];
  let ended = false;

  async function fill(): Promise<void> {
    while (queue.length === 0 && !ended) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
      if (done) ended = true;
      else buffer += value;
      let split: number;
      while ((split = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, split);
        buffer = buffer.slice(split + 2);
        const lines = block.split('\n');
        const event = lines
          .find((line) => line.startsWith('event:'))
          ?.slice(6)
          .trim();
        const data = lines
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).trim())
          .join('\n');
        // Keep-alive comments (":") carry no event.
        if (event) queue.push({ event, data: data ? JSON.parse(data) : undefined });
      }
    }
  }

  return {
    status: response.status,
    async next() {
      await fill();
      const event = queue.shift();
      if (!event) throw new Error('the stream ended');
      return event;
    },
    async rest() {
      const events: SseEvent[] = [];
      for (;;) {
        await fill();
        const event = queue.shift();
        if (!event) return events;
        events.push(event);
        if (event.event === 'complete') return events;
      }
    },
    close: () => abort.abort(),
  };
}
