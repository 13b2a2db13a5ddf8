/** Alerts: rules on /v2/metrics (create, edit, state), and each rule's deliveries. */
import { ResourceList } from '../components/Resource';
import { api, type List } from '../lib/api';
import { ErrorBox, Loading, PageHeader, Status, useAsync, when } from '../lib/ui';

interface Alert {
  id: string;
  name: string;
  metric: string;
  stat: string;
  comparator: string;
  threshold: number;
  window: string;
  state: string;
  enabled: boolean;
  last_value: number | null;
  last_evaluated_at: string | null;
}
interface Delivery {
  id: string;
  url: string;
  attempt: number;
  outcome: string;
  status_code?: number | null;
  created_at: string;
  event?: string;
}

function Deliveries({ id }: { id: string }) {
  const events = useAsync((signal) => api<List<Delivery>>(`/v2/alerts/${id}/events`, { signal }), [id]);
  if (events.loading && !events.data) return <Loading />;
  if (!events.data) return <ErrorBox error={events.error} />;
  if (events.data.data.length === 0) return <p className="muted">No deliveries yet.</p>;
  return (
    <ul className="plain">
      {events.data.data.map((e) => (
        <li key={e.id}>
          <Status value={e.outcome} /> {e.event ?? ''} attempt {e.attempt} to{' '}
          <span className="mono">{e.url}</span>
          {e.status_code ? ` → ${e.status_code}` : ''} <span className="muted">{when(e.created_at)}</span>
        </li>
      ))}
    </ul>
  );
}

const EXAMPLE = `{
  "name": "Error rate high",
  "metric": "errors",
  "comparator": "gt",
  "threshold": 5,
  "window": "5m",
  "channels": [{"type": "webhook", "url": "https://hooks.example.com/airmy"}]
}`;

export default function Alerts() {
  return (
    <section>
      <PageHeader title="Alerts" />
      <ResourceList<Alert>
        path="/v2/alerts"
        noun="alert"
        writeScope="alerts:write"
        example={EXAMPLE}
        empty="No alert rules yet: get told when error rate, latency or usage crosses a line."
        readOnly={[
          'id',
          'object',
          'state',
          'state_since',
          'last_value',
          'last_evaluated_at',
          'created_at',
          'updated_at',
        ]}
        columns={[
          { label: 'Name', render: (a) => a.name },
          {
            label: 'Rule',
            render: (a) => `${a.metric} ${a.stat} ${a.comparator} ${a.threshold} over ${a.window}`,
          },
          {
            label: 'State',
            render: (a) => (
              <>
                <Status value={a.enabled ? a.state : 'disabled'} />
                {a.last_value !== null && <div className="muted">last {a.last_value}</div>}
              </>
            ),
          },
          { label: 'Checked', render: (a) => when(a.last_evaluated_at), narrow: true },
        ]}
        detail={(a) => <Deliveries id={a.id} />}
      />
    </section>
  );
}
