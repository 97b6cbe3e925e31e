import { readdirSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, TEST_API_KEY, type TestService } from '../helpers/service.js';

/**
 * An upload the client cuts short, mid-file: the import's multipart reader piped the request into
 * its parser, which never heard of the abort. Each such request kept its spooled file open (a file
 * descriptor) and on disk, and its handler waiting, until the process restarted: enough of them
 * use up the process's descriptors. The reader now ends with the request, and gives all of it back.
 */
const linux = process.platform === 'linux';
let service: TestService;

beforeAll(async () => {
  service = await startService();
  await seedGroups(service);
});
afterAll(() => service.close());

/** The spooled files this process holds open. */
function openSpools(): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      return target.includes('ums-upload-') ? [target] : [];
    } catch {
      return [];
    }
  });
}

/** Sends the head of a multipart import and `bytes` of its file, then drops the connection. */
function abortedUpload(path: string, headers: Record<string, string>, bytes: number): Promise<void> {
  const { hostname, port } = new URL(service.url);
  const boundary = 'cut-short';
  const part = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="users.csv"\r\nContent-Type: text/csv\r\n\r\n`;
  const file = 'userGroup,username,email\r\n' + 'customer,x,x@example.com\r\n'.repeat(Math.ceil(bytes / 26));
  const head = [
    `PATCH ${path} HTTP/1.1`,
    `Host: ${hostname}:${port}`,
    `Content-Type: multipart/form-data; boundary=${boundary}`,
    'Content-Length: 10000000',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(`${head}\r\n\r\n${part}${file.slice(0, bytes)}`, () => {
        // Long enough for the file to be opened and written to, then the client is gone.
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 100);
      });
    });
    socket.on('error', reject);
  });
}

describe.runIf(linux)('an import cut short by its client', () => {
  it('keeps no spooled file open, whenever the client leaves mid-file', async () => {
    const before = openSpools().length;
    for (const bytes of [10, 5_000, 200_000]) await abortedUpload('/users/import', { 'x-api-key': TEST_API_KEY }, bytes);
    await expect.poll(() => openSpools().length - before, { timeout: 3000 }).toBe(0);
    // The service still takes a whole import afterwards.
    const form = new FormData();
    form.append('file', new Blob(['userGroup,username,email,name\ncustomer,after,after@example.com,A\n']), 'users.csv');
    const res = await fetch(`${service.url}/users/import`, { method: 'PATCH', headers: { 'x-api-key': TEST_API_KEY }, body: form });
    expect(res.status).toBe(200);
    expect((await res.json()).inserted).toHaveLength(1);
  });
});
