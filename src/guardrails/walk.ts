/**
 * Applying a string transform to every string inside a JSON value: string leaves, object keys,
 * and numbers (a card number sent as a JSON number is still a card number; if the transform changes
 * it, the number becomes the transformed string). Containers are copied only where something
 * changed. When two keys of one object redact to the same text, the later one wins.
 */
export function walkContent(value: unknown, transform: (text: string) => string): unknown {
  if (typeof value === 'string') return transform(value);
  if (typeof value === 'number') {
    const text = String(value);
    const out = transform(text);
    return out === text ? value : out;
  }
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((v, i) => {
      const w = walkContent(v, transform);
      if (w !== v) {
        copy ??= [...value];
        copy[i] = w;
      }
    });
    return copy ?? value;
  }
  if (typeof value === 'object' && value !== null) {
    let changed = false;
    const entries = Object.entries(value).map(([k, v]) => {
      const k2 = transform(k);
      const v2 = walkContent(v, transform);
      if (k2 !== k || v2 !== v) changed = true;
      return [k2, v2] as const;
    });
    return changed ? Object.fromEntries(entries) : value;
  }
  return value;
}
