/** Guardrails: the organization's policies (create, edit, delete) and the built-in templates. */
import { ResourceList } from '../components/Resource';
import { api, type List } from '../lib/api';
import { ErrorBox, Json, Loading, PageHeader, useAsync } from '../lib/ui';

interface Policy {
  id: string;
  name: string;
  description?: string | null;
  rules?: unknown[];
  version?: number;
}
interface Template {
  id: string;
  name?: string;
  description?: string;
}

const EXAMPLE = `{
  "name": "support",
  "extends": "baseline",
  "rules": [{"kind": "blocked_terms", "terms": ["project bluebird"], "action": "block", "apply_to": "output"}]
}`;

export default function Guardrails() {
  const templates = useAsync((signal) => api<List<Template>>('/v2/guardrails/templates', { signal }), []);
  return (
    <section>
      <PageHeader title="Guardrails" />
      <h2>Policies</h2>
      <ResourceList<Policy>
        path="/v2/guardrails/policies"
        noun="policy"
        writeScope="guardrails:write"
        example={EXAMPLE}
        empty="No policies yet: start from a template below."
        readOnly={['id', 'object', 'version', 'created_at', 'updated_at']}
        columns={[
          { label: 'Name', render: (p) => p.name },
          { label: 'Rules', render: (p) => p.rules?.length ?? 0 },
          { label: 'Version', render: (p) => p.version ?? '—', narrow: true },
        ]}
        detail={(p) => <Json value={p} />}
      />
      <h2 className="section-title">Templates</h2>
      <ErrorBox error={templates.error} />
      {templates.loading && !templates.data && <Loading />}
      {templates.data && (
        <div className="cards">
          {templates.data.data.map((t) => (
            <details key={t.id} className="card">
              <summary>
                <strong>{t.name ?? t.id}</strong> <span className="mono muted">{t.id}</span>
              </summary>
              {t.description && <p>{t.description}</p>}
              <Json value={t} />
            </details>
          ))}
        </div>
      )}
    </section>
  );
}
