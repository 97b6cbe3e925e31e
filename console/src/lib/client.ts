import { print } from '@0no-co/graphql.web';
import type { TadaDocumentNode } from 'gql.tada';
import { sessionEnded } from './session.js';

/** A GraphQL error that is not a typed result (access refused, a bad argument, an outage). */
export class RequestError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** What a request that got no answer says. */
export const NO_ANSWER = 'The service is not answering: try again in a moment.';

interface GraphQLAnswer<R> {
  data?: R | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/**
 * Sends a document to /graphql with the session cookie (same origin, never a token in storage).
 * A refused session (UNAUTHORIZED) sends the user back to the login page, keeping where they were.
 */
export async function request<R, V>(
  document: TadaDocumentNode<R, V>,
  variables: V,
  init: { body?: FormData; headers?: Record<string, string> } = {},
): Promise<R> {
  const body = init.body ?? JSON.stringify({ query: print(document), variables });
  const type: Record<string, string> = init.body ? { 'x-requested-with': 'ums-console' } : { 'content-type': 'application/json' };
  const headers = { ...type, ...init.headers };
  // No answer at all (the service or the network down): the browser's own error ("Failed to
  // fetch", "NetworkError when attempting to fetch resource.") is no message for a user.
  const response = await fetch('/graphql', { method: 'POST', credentials: 'same-origin', headers, body }).catch(() => {
    throw new RequestError(NO_ANSWER, 'UNAVAILABLE');
  });
  const answer = (await response.json().catch(() => ({}))) as GraphQLAnswer<R>;
  const error = answer.errors?.[0];
  if (error?.extensions?.code === 'UNAUTHORIZED' || response.status === 401) {
    sessionEnded();
    throw new RequestError('Your session has ended: log in again.', 'UNAUTHORIZED');
  }
  if (error || !answer.data) throw new RequestError(error?.message ?? `The service answered ${response.status}`, error?.extensions?.code);
  return answer.data;
}

/** A GraphQL multipart request (the `Upload` scalar): the file goes as the `file` variable. */
export function upload<R, V>(document: TadaDocumentNode<R, V>, variables: V, file: File): Promise<R> {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: print(document), variables: { ...variables, file: null } }));
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', file, file.name);
  return request(document, variables, { body: form });
}

/**
 * A subscription over Server-Sent Events (yoga's transport: GET /graphql with the document in the
 * query string). Calls `onNext` with each result; answers a function that stops it.
 */
export function subscribe<R, V>(
  document: TadaDocumentNode<R, V>,
  variables: V,
  handlers: { onNext(data: R): void; onError(message: string): void; onComplete(): void },
): () => void {
  const url = new URL('/graphql', location.origin);
  url.searchParams.set('query', print(document));
  url.searchParams.set('variables', JSON.stringify(variables));
  const source = new EventSource(url, { withCredentials: true });
  source.addEventListener('next', (event) => {
    const answer = JSON.parse((event as MessageEvent<string>).data) as GraphQLAnswer<R>;
    if (answer.errors?.[0]?.extensions?.code === 'UNAUTHORIZED') sessionEnded();
    if (answer.data) handlers.onNext(answer.data);
    else handlers.onError(answer.errors?.[0]?.message ?? 'The subscription failed');
  });
  source.addEventListener('complete', () => {
    source.close();
    handlers.onComplete();
  });
  source.addEventListener('error', () => {
    // EventSource reconnects by itself after a network error; a closed stream is final.
    if (source.readyState === EventSource.CLOSED) handlers.onError('The progress stream was cut');
  });
  return () => source.close();
}
