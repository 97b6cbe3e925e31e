import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, startService, type TestService } from '../../helpers/service.js';

/**
 * A reset link outlived the address it was mailed to: an administrator who moved a user to a new
 * e-mail address (the old mailbox lost, or in the wrong hands) left every link already sent to the
 * old one able to set the password for RESET_TICKET_TTL; so did a block. A new address or a block
 * now ends the user's outstanding tickets, as a new password does.
 */
const OLD = 'Old-password-1';
const NEW = 'New-password-2';
const anonymous = { 'x-api-key': '' };
let service: TestService;
let counter = 0;

beforeAll(async () => {
  service = await startService({ env: { RANDOM_PWD_GEN: 'false' } });
  await seedGroups(service);
});
afterAll(() => service.close());

async function newUser() {
  counter += 1;
  const username = `moved${counter}`;
  const res = await service.call('POST', '/users/?sendResetPwdEmail=false', {
    userGroup: 'customer',
    username,
    email: `${username}@example.com`,
    name: 'M',
    password: OLD,
  });
  expect(res.status).toBe(200);
  return (await service.call('GET', `/users/${res.body._id}`)).body as { _id: string; username: string; authUserId: string };
}

/** Asks for a reset e-mail and answers the ticket of its link. */
async function ticketFor(authUserId: string): Promise<string> {
  expect((await service.call('POST', '/users/change-password', { authUserId })).status).toBe(204);
  const outbox = (await service.graphql('{ mailOutbox { text } }')).data.mailOutbox as { text: string }[];
  return /\/password-reset\?ticket=([\w-]+)/.exec(outbox[0]!.text)![1]!;
}

const reset = (ticket: string) => service.call('POST', '/password-reset', { ticket, password: NEW }, anonymous);
const login = (username: string, password: string) => service.call('POST', '/oauth/token', { username, password }, anonymous);

describe('a reset link sent before the user changed', () => {
  it.each([
    ['a new e-mail address', (id: string) => ({ email: `new-${id}@example.com` })],
    ['a block', () => ({ blocked: true })],
  ])('is dead after %s', async (_change, update) => {
    const user = await newUser();
    const ticket = await ticketFor(user.authUserId);
    expect((await service.call('PATCH', `/users/${user._id}`, update(user._id))).status).toBe(200);
    expect((await reset(ticket)).status).toBe(400);
    await service.call('PATCH', `/users/${user._id}`, { blocked: false });
    expect((await login(user.username, NEW)).status).toBe(401);
    expect((await login(user.username, OLD)).status).toBe(200);
  });

  it("is dead after the user's deletion", async () => {
    // Its ticket outlived the identity: the reset answered 204, setting the password of no one.
    const user = await newUser();
    const ticket = await ticketFor(user.authUserId);
    expect((await service.call('DELETE', `/users/${user._id}`)).status).toBe(204);
    const res = await reset(ticket);
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('The reset link is invalid, expired or already used');
  });

  it('still works after a change of other fields, or of the e-mail to itself', async () => {
    const user = await newUser();
    const ticket = await ticketFor(user.authUserId);
    expect((await service.call('PATCH', `/users/${user._id}`, { name: 'Renamed', email: `${user.username}@example.com` })).status).toBe(
      200,
    );
    expect((await reset(ticket)).status).toBe(204);
    expect((await login(user.username, NEW)).status).toBe(200);
  });
});
