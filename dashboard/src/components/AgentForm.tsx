/** The fields of an agent (create and edit share them). */
import type { Agent } from '../lib/types';

export function AgentFields({ agent }: { agent?: Agent }) {
  return (
    <div className="form-grid">
      <label>
        Name
        <input name="name" required maxLength={200} defaultValue={agent?.name} />
      </label>
      <label>
        Model
        <input
          name="model"
          required
          defaultValue={agent?.model ?? 'mock/assistant'}
          placeholder="provider/model"
        />
        <span className="hint">provider/model, e.g. openai/gpt-4.1-mini or mock/echo</span>
      </label>
      <label>
        Description
        <input name="description" defaultValue={agent?.description ?? ''} />
      </label>
      <label>
        Parameters (JSON)
        <textarea
          name="parameters"
          rows={3}
          defaultValue={agent ? JSON.stringify(agent.parameters ?? {}, null, 2) : '{}'}
        />
      </label>
      <label className="span-2">
        Instructions
        <textarea name="instructions" rows={4} defaultValue={agent?.instructions ?? ''} />
      </label>
    </div>
  );
}

export class FormProblem extends Error {}

export function readAgentForm(form: HTMLFormElement): Record<string, unknown> {
  const data = new FormData(form);
  const text = (name: string) => String(data.get(name) ?? '').trim();
  let parameters: unknown = {};
  const raw = text('parameters');
  if (raw) {
    try {
      parameters = JSON.parse(raw);
    } catch {
      throw new FormProblem('Parameters must be a JSON object, e.g. {"temperature": 0.2}');
    }
  }
  return {
    name: text('name'),
    model: text('model'),
    description: text('description') || null,
    instructions: text('instructions') || null,
    parameters,
  };
}
