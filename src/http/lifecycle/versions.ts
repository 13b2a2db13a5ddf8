/**
 * The major versions this server answers, and the route modules each is made of.
 *
 * Each version is an encapsulated Fastify scope under its prefix: its compatibility layer (hooks
 * that translate requests and answers between its wire shapes and those of the modules it reuses)
 * is installed on the scope first, so it wraps every route of the version, then its modules are
 * registered inside. A deprecated version marks every one of its routes (`config.deprecations`):
 * the lifecycle hook adds the headers, counts the call, and answers 410 after the sunset. A retired
 * version (v1) answers 410 for every path.
 *
 * When v3 ships: its modules are the new ones (or v2's where nothing changed), v2 stays listed
 * with `deprecation` set for 12 months after v3 ships (the reference's policy), then retired.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Resources } from '../../resources.ts';
import type { Deprecation } from './deprecations.ts';

export type RouteModule = (resources: Resources) => FastifyPluginAsync;

export interface ApiVersion {
  /** `/v2` */
  prefix: string;
  modules: readonly RouteModule[];
  /** installs the translation to and from the modules' shapes on the version's scope */
  compat?: (scope: FastifyInstance) => void;
  deprecation?: Deprecation;
}

export async function registerVersion(app: FastifyInstance, resources: Resources, version: ApiVersion) {
  await app.register(
    async (scope) => {
      const { deprecation } = version;
      if (deprecation) {
        scope.addHook('onRoute', (route) => {
          route.config = {
            ...route.config,
            deprecations: [...(route.config?.deprecations ?? []), deprecation],
          };
        });
      }
      version.compat?.(scope);
      for (const module of version.modules) await scope.register(module(resources));
    },
    { prefix: version.prefix },
  );
}
