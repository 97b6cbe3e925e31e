import type { Db } from '../src/embedded/db.js';
import { newObjectId } from '../src/crud/ids.js';
import { hashPassword } from '../src/embedded/password-hash.js';

/**
 * Writes `count` linked users (profile + identity) straight into the embedded store, in one
 * transaction. Going through the API would spend minutes hashing 10,000 passwords, which is not
 * what these benchmarks measure; every identity shares one real argon2id hash.
 */
export async function seedUsers(db: Db, count: number): Promise<void> {
  const hash = await hashPassword('Bench-password-1');
  const now = new Date().toISOString();
  const insertIdentity = db.prepare(
    'INSERT INTO identity_users (id, username, email, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const insertProfile = db.prepare('INSERT INTO users (id, state, doc) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (let index = 0; index < count; index += 1) {
      const authUserId = `ums|${newObjectId()}`;
      const username = `user${index}`;
      const email = `user${index}@example.com`;
      insertIdentity.run(authUserId, username, email, hash, now, now);
      const doc = {
        userGroup: index % 4 === 0 ? 'partner' : 'customer',
        username,
        email,
        authUserId,
        name: `Name ${index}`,
        age: index % 90,
        tags: index % 2 ? ['odd'] : ['even'],
        creatorId: 'bench',
        updaterId: 'bench',
        createdAt: now,
        updatedAt: now,
      };
      insertProfile.run(newObjectId(), 'PUBLIC', JSON.stringify(doc));
    }
  })();
}
