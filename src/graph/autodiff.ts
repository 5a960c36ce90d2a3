// Reverse-mode autodiff on the IR: walks the nodes between the loss and the requested values
// backwards and applies each op's gradient rule from the op table, emitting ordinary ops.
import { GraphError } from "../errors.js";
import type { Graph, Value } from "./graph.js";
import { OPS } from "./ops.js";

/** d loss / d v for each v in `wrt`, as new values of the same graph. `loss` must be a float scalar. */
export function gradients(g: Graph, loss: Value, wrt: readonly Value[]): Value[] {
  if (loss.shape.length !== 0 || (loss.dtype !== "float32" && loss.dtype !== "float64")) {
    throw new GraphError(`gradients need a float scalar loss, got ${loss.dtype}[${loss.shape.join(", ")}]`);
  }
  // Values that depend on some wrt value: only they need gradients.
  const depends = new Set(wrt.map((v) => v.id));
  const nodes = [...g.nodes];
  for (const n of nodes)
    if (n.inputs.some((i) => depends.has(i.id))) for (const o of n.outputs) depends.add(o.id);
  if (!depends.has(loss.id)) {
    return wrt.map((w) => g.op("Expand", [g.constant(0, [], w.dtype)], { shape: [...w.shape] }));
  }
  const grads = new Map<number, Value>([[loss.id, g.constant(1, [], loss.dtype)]]);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    const dy = node.outputs.map((o) => grads.get(o.id));
    if (dy.every((d) => d === undefined)) continue;
    if (!node.inputs.some((inp) => depends.has(inp.id))) continue;
    const rule = OPS[node.op].grad;
    if (!rule) {
      throw new GraphError(`no gradient rule for ${node.op}: add one to the op table in src/graph/ops.ts`);
    }
    const filled = node.outputs.map(
      (o, k) => dy[k] ?? g.op("Expand", [g.constant(0, [], o.dtype)], { shape: [...o.shape] }),
    );
    const dx = rule(g, node, filled);
    node.inputs.forEach((inp, k) => {
      const d = dx[k];
      if (!d || !depends.has(inp.id)) return;
      const prev = grads.get(inp.id);
      grads.set(inp.id, prev ? g.op("Add", [prev, d]) : d);
    });
  }
  return wrt.map(
    (w) => grads.get(w.id) ?? g.op("Expand", [g.constant(0, [], w.dtype)], { shape: [...w.shape] }),
  );
}
