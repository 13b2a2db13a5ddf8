/** Parses a complete text/event-stream body into its events (id, event, parsed data). */
export interface ParsedEvent {
  id?: string;
  event?: string;
  data: any;
}

export function parseSse(text: string): ParsedEvent[] {
  const out: ParsedEvent[] = [];
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n').filter((l) => l && !l.startsWith(':'));
    if (!lines.length) continue;
    const e: ParsedEvent = { data: null };
    const data: string[] = [];
    for (const line of lines) {
      const i = line.indexOf(':');
      const field = line.slice(0, i);
      const value = line.slice(i + 1).replace(/^ /, '');
      if (field === 'id') e.id = value;
      else if (field === 'event') e.event = value;
      else if (field === 'data') data.push(value);
    }
    if (!data.length) continue; // a block without data (a `retry:` hint) dispatches no event
    e.data = JSON.parse(data.join('\n'));
    out.push(e);
  }
  return out;
}
