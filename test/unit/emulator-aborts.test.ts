import { connect } from 'node:net';
import { afterAll, expect, it } from 'vitest';
import { CrudEmulator } from '../emulators/crud.js';
import { TimerEmulator } from '../emulators/timer.js';
import { CRUD_COLLECTIONS } from '../helpers/service.js';

const crud = await new CrudEmulator(CRUD_COLLECTIONS).start();
const timer = await new TimerEmulator().start();
afterAll(() => Promise.all([crud.stop(), timer.stop()]));

/** Sends the start of a POST whose body never all comes, then goes away, as a killed service does. */
function abandonedPost(port: number, path: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":`);
      setTimeout(() => socket.destroy(), 20);
    });
    socket.on('close', () => resolve());
  });
}

it('an emulator drops a request its client abandons mid-body, with no unhandled rejection, and serves the next', async () => {
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', record);
  try {
    await abandonedPost(crud.port, '/users/');
    await abandonedPost(timer.port, '/schedule');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(unhandled).toEqual([]);
    expect(crud.docs('/users')).toEqual([]);
    expect((await fetch(`${crud.url}/users/count`)).status).toBe(200);
  } finally {
    process.off('unhandledRejection', record);
  }
});
