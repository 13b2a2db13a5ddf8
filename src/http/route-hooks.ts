/**
 * Hooks that only some methods need (idempotency on POST/PATCH, the audit context on writes) are
 * attached to those routes alone, so a GET does not pay a hook call for each of them. Register
 * before the routes: Fastify applies onRoute to routes added after it.
 */
import type { FastifyInstance, onSendHookHandler, preHandlerHookHandler } from 'fastify';

export function addRouteHook(
  app: FastifyInstance,
  methods: ReadonlySet<string>,
  name: 'preHandler',
  hook: preHandlerHookHandler,
): void;
export function addRouteHook(
  app: FastifyInstance,
  methods: ReadonlySet<string>,
  name: 'onSend',
  hook: onSendHookHandler,
): void;
export function addRouteHook(
  app: FastifyInstance,
  methods: ReadonlySet<string>,
  name: 'preHandler' | 'onSend',
  hook: preHandlerHookHandler | onSendHookHandler,
) {
  app.addHook('onRoute', (route) => {
    const routeMethods = Array.isArray(route.method) ? route.method : [route.method];
    if (!routeMethods.some((m) => methods.has(m))) return;
    const options = route as unknown as Record<string, unknown>;
    const existing = options[name];
    const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
    options[name] = [...list, hook];
  });
}
