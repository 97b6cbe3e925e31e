/**
 * A Rönd standalone-API emulator for the tests (spec/mia-platform.md §5): grant creates one
 * binding (400 when all four lists are empty), revoke removes the subjects from matching bindings
 * and deletes those left empty. Test code only.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { closeServer, dropOnFailure, listenOnLoopback, readBody } from './http.js';
import type { Binding } from '../../src/ports/role-binder.js';

export class RondEmulator {
  readonly bindings: Binding[] = [];
  readonly requests: { path: string; body: Record<string, unknown> }[] = [];
  readonly failures: { path: string; status: number }[] = [];
  private server?: Server;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer(
      dropOnFailure(async (req, res) => {
        const body = JSON.parse((await readBody(req)) || '{}') as Record<string, unknown>;
        this.requests.push({ path: req.url ?? '', body });
        const failure = this.failures.findIndex((f) => f.path === req.url);
        const [status, answer] =
          failure >= 0
            ? [this.failures.splice(failure, 1)[0]!.status, { statusCode: 500, error: 'Internal Server Error', message: 'injected' }]
            : this.route(req.method ?? 'GET', req.url ?? '', body);
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      }),
    );
    this.port = await listenOnLoopback(this.server);
    return this;
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }

  rolesOf(subject: string): string[] {
    return this.bindings.filter((b) => b.subjects.includes(subject)).flatMap((b) => b.roles);
  }

  private route(method: string, path: string, body: Record<string, unknown>): [number, unknown] {
    const list = (key: string) => (Array.isArray(body[key]) ? (body[key] as string[]) : []);
    if (method === 'POST' && path === '/grant/bindings') {
      const binding = {
        bindingId: randomUUID(),
        subjects: list('subjects'),
        groups: list('groups'),
        roles: list('roles'),
        permissions: list('permissions'),
      };
      if (!binding.subjects.length && !binding.groups.length && !binding.roles.length && !binding.permissions.length) {
        return [400, { statusCode: 400, error: 'Bad Request', message: 'empty binding' }];
      }
      this.bindings.push(binding);
      return [200, { bindingId: binding.bindingId }];
    }
    if (method === 'POST' && path === '/revoke/bindings') {
      const subjects = list('subjects');
      const groups = list('groups');
      if (!subjects.length && !groups.length)
        return [400, { statusCode: 400, error: 'Bad Request', message: 'subjects or groups required' }];
      let deletedBindings = 0;
      let modifiedBindings = 0;
      for (const binding of [...this.bindings]) {
        if (!binding.subjects.some((s) => subjects.includes(s)) && !binding.groups.some((g) => groups.includes(g))) continue;
        binding.subjects = binding.subjects.filter((s) => !subjects.includes(s));
        binding.groups = binding.groups.filter((g) => !groups.includes(g));
        if (!binding.subjects.length && !binding.groups.length) {
          this.bindings.splice(this.bindings.indexOf(binding), 1);
          deletedBindings += 1;
        } else {
          modifiedBindings += 1;
        }
      }
      return [200, { deletedBindings, modifiedBindings }];
    }
    return [404, { statusCode: 404, error: 'Not Found', message: 'not found' }];
  }
}
