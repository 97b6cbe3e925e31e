import { z } from 'zod';
import type { TokenSet } from '../ports/authenticator.js';
import type { OutboxMail } from '../ports/mailer.js';
import { TooManyRequestsError, UnauthorizedError } from '../errors.js';
import { listOutbox, login, logout, refresh, requestPasswordChange, resetPassword, unlockUser } from '../resolvers/auth.js';
import { type Me, me, ownProfile } from '../resolvers/me.js';
import { changeOwnPassword } from '../resolvers/own-password.js';
import { getUser } from '../resolvers/users.js';
import { builder } from './builder.js';
import { ErrorInterface, MUTATION_ERRORS } from './errors.js';
import { UserRef } from './user.js';

builder.objectType(UnauthorizedError, {
  name: 'UnauthorizedError',
  description: 'No valid credentials: a wrong password, an expired or revoked token, a dead reset ticket (REST 401).',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof UnauthorizedError,
  fields: () => ({}),
});
builder.objectType(TooManyRequestsError, {
  name: 'TooManyRequestsError',
  description:
    'Too many attempts or too much work at once (logins, password e-mails, resets, imports, bulk jobs): try again later (REST 429).',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof TooManyRequestsError,
  fields: (t) => ({ retryAfterSeconds: t.exposeInt('retryAfterSeconds', { description: 'Seconds to wait before trying again.' }) }),
});

const AUTH_ERRORS = [UnauthorizedError, TooManyRequestsError, ...MUTATION_ERRORS];

const TokensRef = builder.objectRef<Partial<Omit<TokenSet, 'sessionCookie'>>>('Tokens').implement({
  description: 'Empty for website clients: they get the sid cookie instead.',
  fields: (t) => ({
    accessToken: t.string({
      nullable: true,
      description: 'A JWT to send as `Authorization: Bearer <accessToken>`.',
      resolve: (tokens) => tokens.accessToken ?? null,
    }),
    refreshToken: t.string({
      nullable: true,
      description: 'Exchanged once for a new pair by refreshToken.',
      resolve: (tokens) => tokens.refreshToken ?? null,
    }),
    expireAt: t.int({ nullable: true, description: 'Seconds since the epoch.', resolve: (tokens) => tokens.expireAt ?? null }),
  }),
});

const MeRef = builder.objectRef<Me>('Me').implement({
  description: 'The caller, as /userinfo answers it.',
  fields: (t) => ({
    authUserId: t.string({
      nullable: true,
      description: 'The id of the caller in the identity provider.',
      resolve: (me) => (typeof me.claims.sub === 'string' ? me.claims.sub : null),
    }),
    admin: t.exposeBoolean('admin', { description: 'Whether the caller is an administrator (an API key, or a user of ADMIN_GROUPS).' }),
    userinfo: t.field({
      type: 'JSONObject',
      description: 'Identity claims merged with the profile (USERINFO_ADDITIONAL_PROPERTIES).',
      resolve: (me) => me.claims,
    }),
    user: t.field({
      type: UserRef,
      nullable: true,
      description:
        "The caller's profile; null when the identity has none. A caller who is no administrator sees of it what /userinfo " +
        'shows when USERINFO_ADDITIONAL_PROPERTIES is a list (its id, group, login names, state and dates, and the listed fields).',
      resolve: async (me, _args, ctx) => (await ownProfile(ctx, me)) ?? null,
    }),
  }),
});

const MailRef = builder.objectRef<OutboxMail>('Mail').implement({
  description: 'A message kept in the embedded outbox (no SMTP_URL).',
  fields: (t) => ({
    id: t.exposeInt('id', { description: 'The order the mail was kept in.' }),
    to: t.exposeString('to', { description: 'The address it was for.' }),
    subject: t.exposeString('subject', { description: 'Its subject.' }),
    text: t.exposeString('text', { description: 'Its plain-text body (with the reset link).' }),
    createdAt: t.field({ type: 'DateTime', description: 'When it was kept.', resolve: (mail) => mail.createdAt }),
  }),
});

builder.queryFields((t) => ({
  me: t.field({
    type: MeRef,
    description: 'The caller (GET /userinfo).',
    errors: { types: [UnauthorizedError] },
    resolve: (_root, _args, ctx) => me(ctx),
  }),
  mailOutbox: t.field({
    type: [MailRef],
    description: 'Administrators: mail kept in the outbox, newest first.',
    args: {
      first: t.arg.int({
        required: false,
        defaultValue: 25,
        description: 'How many mails (1 to 200).',
        validate: z.number().int().min(1).max(200).nullish(),
      }),
      offset: t.arg.int({
        required: false,
        defaultValue: 0,
        description: 'Skip this many of the newest first.',
        validate: z.number().int().min(0).nullish(),
      }),
    },
    resolve: (_root, args, ctx) => listOutbox(ctx, { limit: args.first ?? 25, offset: args.offset ?? 0 }),
  }),
}));

builder.mutationFields((t) => ({
  login: t.field({
    type: TokensRef,
    description: 'Logs in (POST /oauth/token). A website client (`client-type` header) gets the sid cookie and empty tokens.',
    errors: { types: AUTH_ERRORS },
    args: {
      username: t.arg.string({ required: true, description: 'The username or the e-mail address.' }),
      password: t.arg.string({ required: true, description: 'The password.' }),
    },
    resolve: async (_root, args, ctx) => (await login(ctx, args)).tokens ?? {},
  }),
  refreshToken: t.field({
    type: TokensRef,
    description: 'Send the (possibly expired) access token as the bearer.',
    errors: { types: AUTH_ERRORS },
    args: { refreshToken: t.arg.string({ required: true, description: 'The refresh token of the last pair.' }) },
    resolve: (_root, args, ctx) => refresh(ctx, args),
  }),
  logout: t.boolean({
    description:
      "Ends the caller's session: its refresh tokens stop working, the sid cookie is cleared (with Auth0, the access token too).",
    errors: { types: AUTH_ERRORS },
    args: {
      refreshToken: t.arg.string({ description: 'With Auth0: the refresh token of the pair, revoked at Auth0.' }),
    },
    resolve: async (_root, args, ctx) => {
      await logout(ctx, args);
      return true;
    },
  }),
  requestPasswordChange: t.boolean({
    description: 'Sends a password-reset e-mail. Users may ask for themselves, administrators for anyone.',
    errors: { types: AUTH_ERRORS },
    args: { authUserId: t.arg.string({ required: true, description: 'The id of the identity.' }) },
    resolve: async (_root, args, ctx) => {
      await requestPasswordChange(ctx, args);
      return true;
    },
  }),
  resetPassword: t.boolean({
    description: 'Sets a new password with the ticket of a reset link (POST /password-reset); the ticket then stops working.',
    errors: { types: AUTH_ERRORS },
    args: {
      ticket: t.arg.string({ required: true, description: 'The `ticket` parameter of the reset link.' }),
      password: t.arg.string({ required: true, description: 'The new password (the password policy applies).' }),
    },
    resolve: async (_root, args, ctx) => {
      await resetPassword(ctx, args);
      return true;
    },
  }),
  changeOwnPassword: t.boolean({
    description:
      "Embedded identity provider: the signed-in caller replaces its own password (the bootstrap administrator's printed one, too). A wrong current password counts as a failed login; the caller's other sessions end.",
    errors: { types: AUTH_ERRORS },
    args: {
      currentPassword: t.arg.string({ required: true, description: 'The password the caller signs in with now.' }),
      newPassword: t.arg.string({ required: true, description: 'The new password (the password policy applies).' }),
    },
    resolve: async (_root, args, ctx) => {
      await changeOwnPassword(ctx, args);
      return true;
    },
  }),
  unlockUser: t.field({
    type: UserRef,
    description: 'Administrators: clears the lockout after too many failed logins.',
    errors: { types: AUTH_ERRORS },
    args: { id: t.arg.id({ required: true, description: 'The profile _id.' }) },
    resolve: async (_root, args, ctx) => {
      await unlockUser(ctx, String(args.id));
      return getUser(ctx, String(args.id));
    },
  }),
}));
