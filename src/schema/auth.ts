import { z } from 'zod';
import type { TokenSet } from '../ports/authenticator.js';
import type { OutboxMail } from '../ports/mailer.js';
import { TooManyRequestsError, UnauthorizedError } from '../errors.js';
import { listOutbox, login, logout, refresh, requestPasswordChange, resetPassword, unlockUser } from '../resolvers/auth.js';
import { type Me, me, ownProfile } from '../resolvers/me.js';
import { getUser } from '../resolvers/users.js';
import { builder } from './builder.js';
import { ErrorInterface, MUTATION_ERRORS } from './errors.js';
import { UserRef } from './user.js';

builder.objectType(UnauthorizedError, {
  name: 'UnauthorizedError',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof UnauthorizedError,
  fields: () => ({}),
});
builder.objectType(TooManyRequestsError, {
  name: 'TooManyRequestsError',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof TooManyRequestsError,
  fields: (t) => ({ retryAfterSeconds: t.exposeInt('retryAfterSeconds') }),
});

const AUTH_ERRORS = [UnauthorizedError, TooManyRequestsError, ...MUTATION_ERRORS];

const TokensRef = builder.objectRef<Partial<Omit<TokenSet, 'sessionCookie'>>>('Tokens').implement({
  description: 'Empty for website clients: they get the sid cookie instead.',
  fields: (t) => ({
    accessToken: t.string({ nullable: true, resolve: (tokens) => tokens.accessToken ?? null }),
    refreshToken: t.string({ nullable: true, resolve: (tokens) => tokens.refreshToken ?? null }),
    expireAt: t.int({ nullable: true, description: 'Seconds since the epoch.', resolve: (tokens) => tokens.expireAt ?? null }),
  }),
});

const MeRef = builder.objectRef<Me>('Me').implement({
  description: 'The caller, as /userinfo answers it.',
  fields: (t) => ({
    authUserId: t.string({ nullable: true, resolve: (me) => (typeof me.claims.sub === 'string' ? me.claims.sub : null) }),
    admin: t.exposeBoolean('admin'),
    userinfo: t.field({
      type: 'JSONObject',
      description: 'Identity claims merged with the profile (USERINFO_ADDITIONAL_PROPERTIES).',
      resolve: (me) => me.claims,
    }),
    user: t.field({
      type: UserRef,
      nullable: true,
      resolve: async (me, _args, ctx) => (await ownProfile(ctx, me)) ?? null,
    }),
  }),
});

const MailRef = builder.objectRef<OutboxMail>('Mail').implement({
  description: 'A message kept in the embedded outbox (no SMTP_URL).',
  fields: (t) => ({
    id: t.exposeInt('id'),
    to: t.exposeString('to'),
    subject: t.exposeString('subject'),
    text: t.exposeString('text'),
    createdAt: t.field({ type: 'DateTime', resolve: (mail) => mail.createdAt }),
  }),
});

builder.queryFields((t) => ({
  me: t.field({
    type: MeRef,
    errors: { types: [UnauthorizedError] },
    resolve: (_root, _args, ctx) => me(ctx),
  }),
  mailOutbox: t.field({
    type: [MailRef],
    description: 'Administrators: mail kept in the outbox, newest first.',
    args: {
      first: t.arg.int({ required: false, defaultValue: 25, validate: z.number().int().min(1).max(200).nullish() }),
      offset: t.arg.int({ required: false, defaultValue: 0, validate: z.number().int().min(0).nullish() }),
    },
    resolve: (_root, args, ctx) => listOutbox(ctx, { limit: args.first ?? 25, offset: args.offset ?? 0 }),
  }),
}));

builder.mutationFields((t) => ({
  login: t.field({
    type: TokensRef,
    errors: { types: AUTH_ERRORS },
    args: { username: t.arg.string({ required: true }), password: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => (await login(ctx, args)).tokens ?? {},
  }),
  refreshToken: t.field({
    type: TokensRef,
    description: 'Send the (possibly expired) access token as the bearer.',
    errors: { types: AUTH_ERRORS },
    args: { refreshToken: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => refresh(ctx, args),
  }),
  logout: t.boolean({
    errors: { types: AUTH_ERRORS },
    resolve: async (_root, _args, ctx) => {
      await logout(ctx);
      return true;
    },
  }),
  requestPasswordChange: t.boolean({
    description: 'Sends a password-reset e-mail. Users may ask for themselves, administrators for anyone.',
    errors: { types: AUTH_ERRORS },
    args: { authUserId: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      await requestPasswordChange(ctx, args);
      return true;
    },
  }),
  resetPassword: t.boolean({
    errors: { types: AUTH_ERRORS },
    args: { ticket: t.arg.string({ required: true }), password: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      await resetPassword(ctx, args);
      return true;
    },
  }),
  unlockUser: t.field({
    type: UserRef,
    description: 'Administrators: clears the lockout after too many failed logins.',
    errors: { types: AUTH_ERRORS },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      await unlockUser(ctx, String(args.id));
      return getUser(ctx, String(args.id));
    },
  }),
}));
