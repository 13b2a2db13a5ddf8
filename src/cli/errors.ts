/**
 * `airmy errors` and `airmy errors show <fingerprint>`: the errors the server reported automatically
 * (src/error-reports/), read from its database directly — an operator's view across every
 * organization, so it is not an API route a tenant key could reach.
 */
import { iso } from '../clock.ts';
import { signatureFrames } from '../error-reports/fingerprint.ts';
import type { ErrorReportRow } from '../infra/db/schema.ts';
import { dbNote, withResources } from './bootstrap.ts';
import { bold, type Command, dim, json, parse, table, UsageError, write } from './context.ts';

const oneLine = (s: string, max: number) => {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

/** A row as `--json` prints it: times as ISO 8601, the fingerprint's frames spelled out. */
const shown = (r: ErrorReportRow) => ({
  fingerprint: r.fingerprint,
  kind: r.kind,
  route: r.route,
  count: Number(r.count),
  first_seen: iso(Number(r.first_seen)),
  last_seen: iso(Number(r.last_seen)),
  error: { name: r.error_name, message: r.message, status_code: r.status_code },
  example: {
    request_id: r.request_id,
    run_id: r.run_id,
    job_id: r.job_id,
    org_id: r.org_id,
    trace_id: r.trace_id,
  },
  frames: signatureFrames(r.stack),
  stack: r.stack,
});

export const errorsList: Command = {
  name: 'errors',
  summary: 'errors reported automatically: counts by fingerprint, last seen first',
  help: `Usage: airmy errors [--kind request|job] [--limit <n>] [--json]
       airmy errors show <fingerprint> [--json]

Every unexpected 5xx answer and every unhandled worker failure, grouped by fingerprint (see
docs/errors.md): how many, first and last seen, the route or job kind, the latest message.
${dbNote}`,
  async run(args, ctx) {
    const { values, positionals } = parse(args, {
      kind: { type: 'string' },
      limit: { type: 'string', default: '50' },
      json: { type: 'boolean' },
    });
    if (positionals.length)
      throw new UsageError(`unexpected argument '${positionals[0]}' (errors show <fingerprint>?)`);
    if (values.kind !== undefined && values.kind !== 'request' && values.kind !== 'job')
      throw new UsageError('--kind is request or job');
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError('--limit is 1 to 1000');
    const rows = await withResources(ctx, (r) =>
      r.errorReports.list({ limit, kind: values.kind as 'request' | 'job' | undefined }),
    );
    if (values.json) {
      json(ctx, rows.map(shown));
      return 0;
    }
    if (rows.length === 0) {
      write(ctx, 'no errors reported\n');
      return 0;
    }
    write(
      ctx,
      table(
        ctx,
        ['FINGERPRINT', 'COUNT', 'LAST SEEN', 'KIND', 'ROUTE', 'ERROR'],
        rows.map((r) => [
          r.fingerprint,
          String(r.count),
          iso(Number(r.last_seen)) ?? '',
          r.kind,
          r.route,
          oneLine(`${r.error_name}: ${r.message}`, 80),
        ]),
      ),
    );
    return 0;
  },
};

export const errorsShow: Command = {
  name: 'errors show',
  summary: 'one reported error: counts, the latest example and its stack',
  help: `Usage: airmy errors show <fingerprint> [--json]

The fingerprint as 'airmy errors' prints it (or a unique prefix of at least 4 characters).
${dbNote}`,
  async run(args, ctx) {
    const { values, positionals } = parse(args, { json: { type: 'boolean' } });
    const fp = positionals[0];
    if (!fp) throw new UsageError('errors show needs a fingerprint');
    const row = await withResources(ctx, (r) => r.errorReports.get(fp));
    if (!row) {
      ctx.stderr.write(`airmy: no reported error with fingerprint '${fp}'\n`);
      return 1;
    }
    const s = shown(row);
    if (values.json) {
      json(ctx, s);
      return 0;
    }
    const lines = [
      `${bold(ctx, s.fingerprint)}  ${s.kind}  ${s.route}`,
      `${s.error.name}: ${s.error.message}`,
      '',
      `count        ${s.count}`,
      `first seen   ${s.first_seen}`,
      `last seen    ${s.last_seen}`,
      ...(s.error.status_code !== null ? [`status       ${s.error.status_code}`] : []),
      dim(ctx, 'latest example'),
      ...Object.entries(s.example)
        .filter(([, v]) => v)
        .map(([k, v]) => `  ${k.padEnd(11)}${v}`),
      ...(s.frames.length ? [dim(ctx, 'fingerprinted frames'), ...s.frames.map((f) => `  ${f}`)] : []),
      dim(ctx, 'stack'),
      s.stack ?? '  (none)',
    ];
    write(ctx, `${lines.join('\n')}\n`);
    return 0;
  },
};
