export function UsageBar({
  label,
  used,
  max,
  note,
}: {
  label: string;
  used: number;
  max: number;
  note?: string;
}) {
  const pct = max > 0 ? Math.min(100, (used / max) * 100) : 0;
  return (
    <div className="usage-row">
      <div className="usage-label">
        {label}: <strong>{used}</strong> of {max}
        {note && <span className="muted"> · {note}</span>}
      </div>
      <progress max={max} value={Math.min(used, max)} aria-label={label}>
        {pct.toFixed(0)} %
      </progress>
    </div>
  );
}
