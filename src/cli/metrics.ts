/** `airmy metrics`: a metric's series as a table, with a sparkline per series on a terminal. */
import { type Command, clientOptions, dim, json, parse, table, write } from './context.ts';
import { clientFor } from './profile.ts';

const BARS = '▁▂▃▄▅▆▇█';

export function sparkline(values: number[]): string {
  const max = Math.max(...values, 0);
  const min = Math.min(...values, max);
  return values
    .map((v) =>
      max === min
        ? BARS[v > 0 ? BARS.length - 1 : 0]
        : BARS[Math.round(((v - min) / (max - min)) * (BARS.length - 1))],
    )
    .join('');
}

export const metrics: Command = {
  name: 'metrics',
  summary: 'query a metric: a table (a sparkline per series in a terminal)',
  help: `Usage: airmy metrics [--metric <m>] [--stat <s>] [--interval <i>] [--from <t>] [--to <t>] [--group-by <f>] [--json]

Metrics: runs (default), run_latency_ms, tokens_used, errors, pipeline_runs, rate_limited.
Stats: count, sum, avg, p50, p95, p99, max (as fit the metric). Intervals: 1m, 5m, 1h, 1d.
Default window: the last hour. In a terminal each series also gets a sparkline; --table forces
the plain table, --json prints the API's answer.

Options:
  --metric <m>        the metric
  --stat <s>          the statistic
  --interval <i>      bucket size
  --from <time>       RFC 3339 start (inclusive)
  --to <time>         RFC 3339 end (exclusive)
  --group-by <field>  agent_id, status, model or deployment_id
  --agent <id>        only runs of this agent
  --table             no sparkline, even in a terminal
  --profile <name>    use this login profile
  --json              print JSON`,
  async run(args, ctx) {
    const { values } = parse(args, {
      ...clientOptions,
      metric: { type: 'string', default: 'runs' },
      stat: { type: 'string' },
      interval: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      'group-by': { type: 'string' },
      agent: { type: 'string' },
      table: { type: 'boolean' },
    });
    const m = await clientFor(ctx, values.profile).metrics.query({
      metric: values.metric,
      stat: values.stat,
      interval: values.interval,
      from: values.from,
      to: values.to,
      group_by: values['group-by'],
      agent_id: values.agent,
    });
    if (values.json) {
      json(ctx, m);
      return 0;
    }
    write(ctx, `${m.metric} ${m.stat} per ${m.interval}, ${m.from} → ${m.to}\n`);
    for (const s of m.series) {
      const group = Object.entries(s.group ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      const nums = s.points.map((p) => Number(p.value ?? 0));
      if (ctx.tty && !values.table) {
        write(ctx, `${group || 'all'}  ${sparkline(nums)}  ${dim(ctx, `max ${Math.max(...nums, 0)}`)}\n`);
        continue;
      }
      if (group) write(ctx, `${group}\n`);
      write(
        ctx,
        table(
          ctx,
          ['TIME', 'VALUE'],
          s.points.map((p) => [p.t, p.value === null ? '' : String(p.value)]),
        ),
      );
    }
    if (m.series.length === 0) write(ctx, dim(ctx, 'no data\n'));
    return 0;
  },
};
