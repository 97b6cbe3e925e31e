/**
 * The CRUD emulator of the tests, in its own process, seeded with BENCH_USERS users, so the
 * gateway benchmark can call it directly and through the service. Reports its request count
 * over IPC.
 */
import { CRUD_COLLECTIONS } from '../test/helpers/service.js';
import { CrudEmulator } from '../test/emulators/crud.js';

const users = Number(process.env.BENCH_USERS ?? 2000);
const crud = await new CrudEmulator(CRUD_COLLECTIONS).start();
const now = new Date().toISOString();
for (let index = 0; index < users; index += 1) {
  crud.docs('/users').push({
    _id: `${Math.floor(Date.now() / 1000).toString(16)}${index.toString(16).padStart(16, '0')}`,
    __STATE__: 'PUBLIC',
    userGroup: index % 4 === 0 ? 'partner' : 'customer',
    username: `user${index}`,
    email: `user${index}@example.com`,
    name: `Name ${index}`,
    age: index % 90,
    creatorId: 'bench',
    updaterId: 'bench',
    createdAt: now,
    updatedAt: now,
  });
}
process.send!({ url: crud.url });
process.on('message', (message: { type: string }) => {
  if (message.type === 'counts') process.send!({ requests: crud.requests.length });
  if (message.type === 'reset') crud.requests.length = 0;
  if (message.type === 'stop') void crud.stop().then(() => process.exit(0));
});
