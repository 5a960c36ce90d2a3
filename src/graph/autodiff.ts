// Reverse-mode autodiff on the IR: walks the nodes between the loss and the requested values
// backwards and applies each op's gradient rule from the op table, emitting ordinary ops. Segments
// marked for recomputation (a decoder layer each) are run again during the backward pass from their
// input, so what their forward computed inside can be freed as soon as the forward is past them.
import { GraphError } from "../errors.js";
import type { Graph, Node, Value } from "./graph.js";
import { OPS } from "./ops.js";

/**
 * A run of consecutive nodes, g.nodes[start..end), with one input from before it and one output
 * read after it: a decoder layer, x_l → x_{l+1}. Nothing after `end` may read a value computed
 * inside the run other than `output` (the recomputed copy would not reach it).
 */
export interface Segment {
  start: number;
  end: number;
  input: Value;
  output: Value;
}

export interface GradientOptions {
  /** Segments whose activations are recomputed in the backward pass instead of kept (gradient checkpointing). */
  recompute?: readonly Segment[];
}

const zerosLike = (g: Graph, v: Value) =>
  g.op("Expand", [g.constant(0, [], v.dtype)], { shape: [...v.shape] });

/** d loss / d v for each v in `wrt`, as new values of the same graph. `loss` must be a float scalar. */
export function gradients(g: Graph, loss: Value, wrt: readonly Value[], opts: GradientOptions = {}): Value[] {
  if (loss.shape.length !== 0 || (loss.dtype !== "float32" && loss.dtype !== "float64")) {
    throw new GraphError(`gradients need a float scalar loss, got ${loss.dtype}[${loss.shape.join(", ")}]`);
  }
  // Values that depend on some wrt value: only they need gradients.
  const depends = new Set(wrt.map((v) => v.id));
  const nodes = [...g.nodes];
  for (const n of nodes)
    if (n.inputs.some((i) => depends.has(i.id))) for (const o of n.outputs) depends.add(o.id);
  if (!depends.has(loss.id)) return wrt.map((w) => zerosLike(g, w));
  const grads = new Map<number, Value>([[loss.id, g.constant(1, [], loss.dtype)]]);
  const accumulate = (v: Value, d: Value) => {
    const prev = grads.get(v.id);
    grads.set(v.id, prev ? g.op("Add", [prev, d]) : d);
  };
  const backward = (node: Node) => {
    const dy = node.outputs.map((o) => grads.get(o.id));
    if (dy.every((d) => d === undefined)) return;
    if (!node.inputs.some((inp) => depends.has(inp.id))) return;
    const rule = OPS[node.op].grad;
    if (!rule) {
      throw new GraphError(`no gradient rule for ${node.op}: add one to the op table in src/graph/ops.ts`);
    }
    const filled = node.outputs.map((o, k) => dy[k] ?? zerosLike(g, o));
    const dx = rule(g, node, filled);
    node.inputs.forEach((inp, k) => {
      const d = dx[k];
      if (d && depends.has(inp.id)) accumulate(inp, d);
    });
  };

  const byEnd = new Map<number, Segment>();
  for (const s of opts.recompute ?? []) {
    checkSegment(nodes, s);
    byEnd.set(s.end - 1, s);
  }
  for (let i = nodes.length - 1; i >= 0; i--) {
    const seg = byEnd.get(i);
    const dOut = seg && grads.get(seg.output.id);
    if (!seg || !dOut) {
      backward(nodes[i]!);
      continue;
    }
    // Run the segment again from a copy of its input that depends on the incoming gradient: the
    // copy makes the recomputation wait for the backward pass to reach it, and keeps onnxruntime's
    // common-subexpression pass from merging it back into the forward. The copy is x + (c − c), c
    // 0 or 1 from one element of the gradient, exactly x whatever that element holds.
    const first = g.op("Slice", [dOut], {
      axes: dOut.shape.map((_, a) => a),
      starts: dOut.shape.map(() => 0),
      ends: dOut.shape.map(() => 1),
    });
    const flag = g.op("Cast", [g.op("Cast", [first], { to: "bool" })], { to: seg.input.dtype });
    const x = g.op("Add", [seg.input, g.op("Sub", [flag, flag])]);
    const copyOf = new Map<number, Value>([[seg.input.id, x]]);
    if (depends.has(seg.input.id)) depends.add(x.id);
    const clones: Node[] = [];
    for (let j = seg.start; j < seg.end; j++) {
      const node = nodes[j]!;
      const outs = g.apply(
        node.op,
        node.inputs.map((v) => copyOf.get(v.id) ?? v),
        node.attrs,
      );
      node.outputs.forEach((o, k) => {
        copyOf.set(o.id, outs[k]!);
        if (depends.has(o.id)) depends.add(outs[k]!.id);
      });
      clones.push(outs[0]!.producer!);
    }
    grads.set(copyOf.get(seg.output.id)!.id, dOut);
    for (let j = clones.length - 1; j >= 0; j--) backward(clones[j]!);
    const dx = grads.get(x.id);
    if (dx && depends.has(seg.input.id)) accumulate(seg.input, dx);
    i = seg.start;
  }
  return wrt.map((w) => grads.get(w.id) ?? zerosLike(g, w));
}

/** A segment must be a run of the graph whose inside only its own nodes and its output's readers see. */
function checkSegment(nodes: readonly Node[], s: Segment) {
  if (!(s.start >= 0 && s.start < s.end && s.end <= nodes.length)) {
    throw new GraphError(`recompute segment [${s.start}, ${s.end}) is not a run of the graph's nodes`);
  }
  const inside = new Set<number>();
  for (let j = s.start; j < s.end; j++) for (const o of nodes[j]!.outputs) inside.add(o.id);
  if (!inside.has(s.output.id))
    throw new GraphError(`recompute segment's output ${s.output.name} is not computed in it`);
  if (inside.has(s.input.id))
    throw new GraphError(`recompute segment's input ${s.input.name} is computed in it`);
  for (let j = s.end; j < nodes.length; j++) {
    for (const v of nodes[j]!.inputs) {
      if (inside.has(v.id) && v.id !== s.output.id) {
        throw new GraphError(
          `${v.name}, computed inside a recompute segment, is read after it by ${nodes[j]!.op}: only the segment's output may be`,
        );
      }
    }
  }
}
