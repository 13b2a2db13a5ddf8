/**
 * The step DAG: order, cycles, ancestry. Every traversal breaks ties by definition order, so the
 * same definition always yields the same order (the scheduler's determinism rests on it).
 * Callers have already checked that ids are unique and every dependency exists.
 */

export interface GraphNode {
  readonly id: string;
  readonly depends_on: readonly string[];
}

/**
 * Kahn's algorithm taking, among the steps whose dependencies are all placed, the one listed
 * first in the definition. Returns null when the graph has a cycle.
 */
export function topologicalOrder(nodes: readonly GraphNode[]): string[] | null {
  const remaining = new Map(nodes.map((node) => [node.id, new Set(node.depends_on)]));
  const order: string[] = [];
  while (order.length < nodes.length) {
    const next = nodes.find((node) => remaining.get(node.id)?.size === 0);
    if (!next) return null;
    order.push(next.id);
    remaining.delete(next.id);
    for (const deps of remaining.values()) deps.delete(next.id);
  }
  return order;
}

/**
 * One cycle as `[a, b, …, a]` where each step depends on the next, starting at the cycle's step
 * listed first in the definition; null if there is none.
 */
export function findCycle(nodes: readonly GraphNode[]): string[] | null {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const index = new Map(nodes.map((node, i) => [node.id, i]));
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];

  const visit = (id: string): string[] | null => {
    state.set(id, 'open');
    stack.push(id);
    for (const dep of byId.get(id)?.depends_on ?? []) {
      if (state.get(dep) === 'open') return stack.slice(stack.indexOf(dep));
      if (!state.has(dep)) {
        const found = visit(dep);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(id, 'done');
    return null;
  };

  for (const node of nodes) {
    if (state.has(node.id)) continue;
    const cycle = visit(node.id);
    if (!cycle) continue;
    let start = 0;
    for (let i = 1; i < cycle.length; i++) {
      if ((index.get(cycle[i]) ?? 0) < (index.get(cycle[start]) ?? 0)) start = i;
    }
    const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
    return [...rotated, rotated[0]];
  }
  return null;
}

/** Transitive dependencies of every step. `order` must be topological. */
export function ancestors(nodes: readonly GraphNode[], order: readonly string[]): Map<string, Set<string>> {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const result = new Map<string, Set<string>>();
  for (const id of order) {
    const all = new Set<string>();
    for (const dep of byId.get(id)?.depends_on ?? []) {
      all.add(dep);
      for (const up of result.get(dep) ?? []) all.add(up);
    }
    result.set(id, all);
  }
  return result;
}

/** Steps nothing depends on, in `order`. */
export function sinks(nodes: readonly GraphNode[], order: readonly string[]): string[] {
  const depended = new Set(nodes.flatMap((node) => node.depends_on));
  return order.filter((id) => !depended.has(id));
}
