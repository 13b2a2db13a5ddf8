/**
 * A list of one /v2 resource with create, edit (a JSON body, checked by the server: its 422 names
 * the field) and delete — alerts, guardrail policies and connectors share it. Read-only fields of
 * the shown object are left out of the edit body; write-only ones (secrets) are never shown.
 */
import { type FormEvent, Fragment, type ReactNode, useState } from 'react';
import { api } from '../lib/api';
import { useCursorList } from '../lib/list';
import { useCan } from '../lib/session';
import { Empty, ErrorBox, Loading, Pager, useAction } from '../lib/ui';
import { ConfirmButton } from './Confirm';

export interface Column<T> {
  label: string;
  render: (item: T) => ReactNode;
  narrow?: boolean;
}

export interface ResourceProps<T> {
  path: string;
  noun: string;
  writeScope: string;
  columns: Column<T>[];
  example: string;
  /** fields of an object the PATCH body must not carry */
  readOnly: string[];
  empty: string;
  /** extra content under a row (alert deliveries) */
  detail?: (item: T) => ReactNode;
  hint?: ReactNode;
  /** false for rows the API does not let anyone change (built-in connectors) */
  modifiable?: (item: T) => boolean;
}

function editable(item: Record<string, unknown>, readOnly: string[]) {
  const body: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) if (!readOnly.includes(k)) body[k] = v;
  return JSON.stringify(body, null, 2);
}

export function ResourceList<T extends { id: string }>(props: ResourceProps<T>) {
  const can = useCan();
  const list = useCursorList<T>(props.path, {});
  const [editing, setEditing] = useState<T | 'new' | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const save = useAction();
  const remove = useAction();
  const writable = can(props.writeScope);

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const text = String(new FormData(event.currentTarget).get('body') ?? '');
    void save.run(async () => {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new Error('Not valid JSON');
      }
      if (editing === 'new') await api(props.path, { method: 'POST', body });
      else if (editing) await api(`${props.path}/${editing.id}`, { method: 'PATCH', body });
      setEditing(null);
      list.reload();
    });
  };

  return (
    <>
      {writable && editing === null && (
        <p>
          <button type="button" className="primary" onClick={() => setEditing('new')}>
            New {props.noun}
          </button>
        </p>
      )}
      {props.hint}
      {editing !== null && (
        <form
          className="card"
          onSubmit={submit}
          aria-label={editing === 'new' ? `New ${props.noun}` : `Edit ${props.noun}`}
        >
          <h2>{editing === 'new' ? `New ${props.noun}` : `Edit ${editing.id}`}</h2>
          <label>
            Definition (JSON)
            <textarea
              name="body"
              rows={12}
              defaultValue={
                editing === 'new'
                  ? props.example
                  : editable(editing as unknown as Record<string, unknown>, props.readOnly)
              }
            />
          </label>
          <ErrorBox error={save.error} />
          <div className="form-actions">
            <button type="submit" className="primary" disabled={save.busy}>
              {save.busy ? 'Saving…' : 'Save'}
            </button>
            <button type="button" onClick={() => setEditing(null)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      <ErrorBox error={list.error ?? remove.error} />
      {list.loading && !list.data && <Loading />}
      {list.data && list.items.length === 0 && <Empty>{props.empty}</Empty>}
      {list.items.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                {props.columns.map((c) => (
                  <th key={c.label} className={c.narrow ? 'hide-narrow' : undefined}>
                    {c.label}
                  </th>
                ))}
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.items.map((item) => (
                <Fragment key={item.id}>
                  <tr>
                    {props.columns.map((c) => (
                      <td key={c.label} className={c.narrow ? 'hide-narrow wrap' : 'wrap'}>
                        {c.render(item)}
                      </td>
                    ))}
                    <td>
                      <div className="form-actions">
                        {props.detail && (
                          <button
                            type="button"
                            aria-expanded={open === item.id}
                            onClick={() => setOpen(open === item.id ? null : item.id)}
                          >
                            Details
                          </button>
                        )}
                        {writable && (props.modifiable?.(item) ?? true) && (
                          <button type="button" onClick={() => setEditing(item)}>
                            Edit
                          </button>
                        )}
                        {writable && (props.modifiable?.(item) ?? true) && (
                          <ConfirmButton
                            label="Delete"
                            confirm="Delete it?"
                            busy={remove.busy}
                            onConfirm={() =>
                              void remove.run(async () => {
                                await api(`${props.path}/${item.id}`, { method: 'DELETE' });
                                list.reload();
                              })
                            }
                          />
                        )}
                      </div>
                    </td>
                  </tr>
                  {open === item.id && props.detail && (
                    <tr>
                      <td colSpan={props.columns.length + 1}>{props.detail(item)}</td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager hasPrev={list.hasPrev} hasNext={list.hasNext} onPrev={list.prev} onNext={list.next} />
    </>
  );
}
