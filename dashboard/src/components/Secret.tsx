/** A secret shown once, with a copy button. It lives only in this component's memory. */
import { useState } from 'react';

export function ShownOnce({ label, secret, onDone }: { label: string; secret: string; onDone: () => void }) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('yes');
    } catch {
      setCopied('failed');
    }
  };
  return (
    <div className="success" role="status">
      <strong>{label}</strong>
      <p>Copy it now: it is shown only this once and cannot be read again.</p>
      <div className="secret">
        <code data-testid="shown-secret">{secret}</code>
        <button type="button" onClick={copy}>
          {copied === 'yes' ? 'Copied' : 'Copy'}
        </button>
        <button type="button" onClick={onDone}>
          Done
        </button>
      </div>
      {copied === 'failed' && (
        <p className="muted">The browser refused the clipboard: select the text and copy it.</p>
      )}
    </div>
  );
}
