/**
 * The headers every dashboard answer carries. The CSP allows nothing but this origin's own files:
 * no inline script or style, no eval, no framing (clickjacking), no plugins, no <base> tricks, and
 * fetch/EventSource only to this origin — so even markup that slipped into the page could neither
 * run nor send anything anywhere.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** Hashed file names (`/assets/index-3f2a9c.js`) never change content: cached for a year. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';
/** index.html names the current hashed files: always revalidated (ETag), so a deploy shows at once. */
export const REVALIDATE = 'no-cache';
