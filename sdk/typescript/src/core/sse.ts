/**
 * A Server-Sent Events parser per the WHATWG rules: lines end in CRLF, LF or CR; `event`, `data`
 * (several lines joined by LF), `id` and `retry` fields; a line starting with `:` is a comment
 * (the server's heartbeat); a blank line dispatches the message. Yields messages as they arrive.
 */

export interface SseMessage {
  event: string;
  data: string;
  id: string | undefined;
}

export async function* parseSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  let sawField = false;
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      for (;;) {
        const m = /\r\n|\n|\r/.exec(buffer);
        // a lone CR at the end might be the first half of a CRLF: wait for more
        if (!m || (m[0] === '\r' && m.index === buffer.length - 1 && !done)) break;
        const line = buffer.slice(0, m.index);
        buffer = buffer.slice(m.index + m[0].length);
        if (line === '') {
          if (sawField && data.length > 0) yield { event: event || 'message', data: data.join('\n'), id };
          event = '';
          data = [];
          sawField = false;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        sawField = true;
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
        else if (field === 'id' && !value.includes('\0')) id = value;
      }
      if (done) return;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
