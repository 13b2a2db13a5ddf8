/**
 * The conformance suite from the command line, against any base URL:
 *
 *   npm run conformance -- --base-url https://host:port/v2 [--ca ca.pem] [--key sk-airmy-…] [--http-url http://host:port/v2]
 *
 * --key: an API key of a throwaway organization (default: the demo key). The suite creates a few
 * agents and sessions with it and deletes them again, and its last case spends the organization's
 * rate-limit bucket. Prints a node:test report (TAP when not on a terminal); exit code 1 on failure.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { defineConformance } from './suite.ts';

const USAGE =
  'usage: npm run conformance -- --base-url https://host:port/v2 [--ca ca.pem] [--key sk-airmy-…] [--http-url http://host:port/v2]';

let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      'base-url': { type: 'string' },
      ca: { type: 'string' },
      key: { type: 'string' },
      'http-url': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const baseUrl = values['base-url'];
if (typeof baseUrl !== 'string' || !/^https:\/\//.test(baseUrl)) {
  console.error(`--base-url https://… is required\n${USAGE}`);
  process.exit(2);
}
const caFile = values.ca;
defineConformance(`gateway conformance: ${baseUrl}`, () => ({
  baseUrl,
  ca: typeof caFile === 'string' ? readFileSync(caFile, 'utf8') : undefined,
  key: typeof values.key === 'string' ? values.key : undefined,
  httpUrl: typeof values['http-url'] === 'string' ? values['http-url'] : undefined,
}));
