/**
 * A pipeline's steps drawn as a DAG (SVG): each step in the column of its longest chain of
 * dependencies, edges from each dependency; a run's step states color the nodes.
 */
export interface DagStep {
  id: string;
  depends_on?: string[];
}

const W = 150;
const H = 44;
const GAP_X = 60;
const GAP_Y = 20;

export function layout(steps: DagStep[]) {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const depth = new Map<string, number>();
  const depthOf = (id: string, seen = new Set<string>()): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (seen.has(id)) return 0; // the server refuses cycles; never loop here
    seen.add(id);
    const deps = byId.get(id)?.depends_on ?? [];
    const d = deps.length === 0 ? 0 : 1 + Math.max(...deps.map((dep) => depthOf(dep, seen)));
    depth.set(id, d);
    return d;
  };
  const columns: string[][] = [];
  for (const step of steps) {
    const d = depthOf(step.id);
    columns[d] = [...(columns[d] ?? []), step.id];
  }
  const pos = new Map<string, { x: number; y: number }>();
  columns.forEach((ids, c) => {
    ids.forEach((id, r) => {
      pos.set(id, { x: 10 + c * (W + GAP_X), y: 10 + r * (H + GAP_Y) });
    });
  });
  const rows = Math.max(1, ...columns.map((c) => c?.length ?? 0));
  return {
    pos,
    width: 20 + columns.length * W + Math.max(0, columns.length - 1) * GAP_X,
    height: 20 + rows * H + (rows - 1) * GAP_Y,
  };
}

const FILL: Record<string, string> = {
  completed: '#e6f6ea',
  running: '#e8f0ff',
  failed: '#fdecec',
  skipped: '#f1f1f1',
  cancelled: '#f1f1f1',
  pending: '#ffffff',
};

export function Dag({ steps, states = {} }: { steps: DagStep[]; states?: Record<string, string> }) {
  const { pos, width, height } = layout(steps);
  return (
    <svg
      className="dag"
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      role="img"
      aria-label={`Pipeline graph: ${steps.map((s) => s.id).join(', ')}`}
    >
      <defs>
        <marker
          id="arrow"
          viewBox="0 0 10 10"
          refX="10"
          refY="5"
          markerWidth="7"
          markerHeight="7"
          orient="auto"
        >
          <path d="M0,0 L10,5 L0,10 z" fill="#8a94a3" />
        </marker>
      </defs>
      {steps.flatMap((step) =>
        (step.depends_on ?? []).map((dep) => {
          const a = pos.get(dep);
          const b = pos.get(step.id);
          if (!a || !b) return null;
          return (
            <line
              key={`${dep}->${step.id}`}
              x1={a.x + W}
              y1={a.y + H / 2}
              x2={b.x}
              y2={b.y + H / 2}
              stroke="#8a94a3"
              strokeWidth="1.5"
              markerEnd="url(#arrow)"
            />
          );
        }),
      )}
      {steps.map((step) => {
        const p = pos.get(step.id);
        if (!p) return null;
        const state = states[step.id];
        return (
          <g key={step.id} data-step={step.id} data-state={state ?? ''}>
            <rect
              x={p.x}
              y={p.y}
              width={W}
              height={H}
              rx="8"
              fill={state ? (FILL[state] ?? '#fff') : '#fff'}
              stroke={state === 'running' ? '#2f6fde' : '#b9c1cc'}
              strokeWidth={state === 'running' ? 2 : 1}
            />
            <text x={p.x + 10} y={p.y + 18}>
              {step.id.length > 20 ? `${step.id.slice(0, 19)}…` : step.id}
            </text>
            <text x={p.x + 10} y={p.y + 34} className="dag-state">
              {state ?? ''}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
