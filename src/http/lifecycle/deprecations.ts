/**
 * API lifecycle: what is deprecated, since when, until when, and what the answer says about it.
 *
 * A deprecation names one piece of surface — a whole major version, a route, or a field — with the
 * date it was deprecated and its sunset. Until the sunset the surface works as before and every
 * answer that used it carries
 *   Deprecation: @<unix seconds>                                  (RFC 9745)
 *   Sunset: <HTTP-date>                                           (RFC 8594)
 *   Link: </changelog#<anchor>>; rel="deprecation"; type="text/markdown"
 * and the call is counted per API key (`deprecated_calls` in /v2/metrics, Prometheus
 * `airmy_deprecated_calls_total`), so an operator knows who still uses it. From the sunset on, it
 * answers 410 Gone. Every deprecation is listed in CHANGELOG.md under its anchor (a test checks).
 */
import { ApiError, ErrorTypes } from '../../errors.ts';

export interface Deprecation {
  /** stable id: the `status` of `deprecated_calls`, the Prometheus label, the changelog anchor */
  id: string;
  kind: 'version' | 'route' | 'field';
  /** what it is, for people: "GET /v2/logs `from` and `to`" */
  surface: string;
  /** what to use instead */
  replacement: string;
  /** RFC 3339 instants */
  deprecatedAt: string;
  sunsetAt: string;
}

/** Everything deprecated in v2 today. */
export const V2Deprecations = {
  auditLogTimeRange: {
    id: 'audit-logs-from-to',
    kind: 'field',
    surface: 'GET /v2/logs query parameters `from` and `to`',
    replacement: '`created_after` and `created_before`, named as on every other list',
    deprecatedAt: '2026-12-06T00:00:00Z',
    sunsetAt: '2027-12-06T00:00:00Z',
  },
} as const satisfies Record<string, Deprecation>;

export function deprecationHeaders(deprecations: readonly Deprecation[]): Record<string, string> {
  const since = Math.min(...deprecations.map((d) => Date.parse(d.deprecatedAt)));
  const sunset = Math.min(...deprecations.map((d) => Date.parse(d.sunsetAt)));
  return {
    deprecation: `@${Math.floor(since / 1000)}`,
    sunset: new Date(sunset).toUTCString(),
    link: deprecations.map((d) => `</changelog#${d.id}>; rel="deprecation"; type="text/markdown"`).join(', '),
  };
}

export const isSunset = (d: Deprecation, now: number) => now >= Date.parse(d.sunsetAt);

/** The 410 for surface past its sunset. */
export function goneError(d: Deprecation, param?: string) {
  const code = d.kind === 'version' ? 'api_version_sunset' : 'api_surface_sunset';
  return new ApiError(
    410,
    ErrorTypes.invalid_request,
    code,
    `${d.surface} was removed on ${d.sunsetAt.slice(0, 10)}; use ${d.replacement}`,
    { param },
  );
}
