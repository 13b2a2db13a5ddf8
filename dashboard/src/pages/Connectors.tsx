/**
 * Connectors: tools agents call. Secrets are write-only: sent in a create or edit body, never
 * returned by the API, so never shown here (the list says which are set).
 */
import { ResourceList } from '../components/Resource';
import { PageHeader } from '../lib/ui';

interface Connector {
  id: string;
  name: string;
  kind: string;
  url?: string;
  description?: string | null;
  secrets?: unknown;
  secret_names?: string[];
}

const EXAMPLE = `{
  "name": "crm_lookup",
  "kind": "http",
  "description": "Look a customer up in the CRM",
  "url": "https://crm.example.com/lookup",
  "method": "POST",
  "headers": {"authorization": "Bearer {{secrets.CRM_TOKEN}}"},
  "secrets": {"CRM_TOKEN": "paste the token here: it is stored sealed and never shown again"}
}`;

const secretsOf = (c: Connector) => {
  if (Array.isArray(c.secret_names)) return c.secret_names;
  if (Array.isArray(c.secrets)) return c.secrets.map(String);
  if (c.secrets && typeof c.secrets === 'object') return Object.keys(c.secrets as object);
  return [];
};

export default function Connectors() {
  return (
    <section>
      <PageHeader title="Connectors" />
      <ResourceList<Connector>
        path="/v2/connectors"
        noun="connector"
        modifiable={(c) => c.kind !== 'builtin'}
        writeScope="connectors:write"
        example={EXAMPLE}
        empty="No connectors yet: give agents tools that call your APIs."
        readOnly={[
          'id',
          'object',
          'kind',
          'public',
          'secrets',
          'secret_names',
          'builtin',
          'created_at',
          'updated_at',
        ]}
        hint={
          <p className="muted">
            Secrets are write-only: include <code>"secrets"</code> in an edit to replace them; they are never
            shown.
          </p>
        }
        columns={[
          { label: 'Name', render: (c) => c.name },
          { label: 'Kind', render: (c) => c.kind },
          { label: 'URL', render: (c) => <span className="mono">{c.url ?? '—'}</span>, narrow: true },
          {
            label: 'Secrets',
            render: (c) => {
              const names = secretsOf(c);
              return names.length ? `${names.join(', ')} (set)` : '—';
            },
          },
        ]}
      />
    </section>
  );
}
