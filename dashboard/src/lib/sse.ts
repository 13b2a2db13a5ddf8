/**
 * Server-sent events over fetch rather than EventSource: the same cookie and error handling as
 * every other call (EventSource cannot read an error's JSON), POST streams too (a run created with
 * `stream: true`), and an AbortSignal ends it.
 */
import { type RequestOptions, request } from './api';

export interface SseEvent {
  id: string | null;
  event: string;
  data: string;
}

export async function streamEvents(
  path: string,
  options: RequestOptions,
  onEvent: (event: SseEvent) => void,
): Promise<void> {
  const response = await request(path, {
    ...options,
    headers: { accept: 'text/event-stream', ...options.headers },
  });
  if (!response.body) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end = buffer.search(/\r?\n\r?\n/);
    while (end !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
      const event: SseEvent = { id: null, event: 'message', data: '' };
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(':') || line === '') continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const text = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') data.push(text);
        else if (field === 'event') event.event = text;
        else if (field === 'id') event.id = text;
      }
      if (data.length > 0) {
        event.data = data.join('\n');
        onEvent(event);
      }
      end = buffer.search(/\r?\n\r?\n/);
    }
  }
}
