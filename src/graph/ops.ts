// The op table: for each op, its shape rule, its gradient rule and its ONNX form (opset 17). One
// row per op; autodiff fails loudly on an op without a gradient rule instead of guessing.
import type { GDType, Graph, Node, Value } from "./graph.js";

export type Attrs = Record<string, number | number[] | string | undefined>;
export type TypeOf = { dtype: GDType; shape: number[] };

/** Emission context: names for values, int64 constants as initializers, fresh names for temporaries. */
export interface EmitContext {
  name(v: Value): string;
  int64(values: readonly number[]): string;
  fresh(hint: string): string;
}
export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, number | number[] | string | { tensorDType: GDType; value: number }>;
}

export interface OpDef {
  infer(inputs: readonly Value[], attrs: Attrs): TypeOf[];
  /** Input gradients from output gradients; undefined where an input has none (indices, masks). */
  grad?(g: Graph, node: Node, dy: Value[]): (Value | undefined)[];
  emit(node: Node, ctx: EmitContext): OnnxNode[];
}

const fail = (msg: string): never => {
  throw new Error(msg);
};
const isFloat = (d: GDType) => d === "float32" || d === "float64";

/** numpy broadcasting of two shapes. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1)
      fail(`shapes [${a.join(", ")}] and [${b.join(", ")}] do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

const normAxis = (axis: number, rank: number) => {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail(`axis ${axis} out of range for rank ${rank}`);
  return a;
};

/** Sums a gradient over the axes broadcasting added, so it has the shape of the input it belongs to. */
export function unbroadcast(g: Graph, dy: Value, shape: readonly number[]): Value {
  if (dy.shape.length === shape.length && dy.shape.every((d, i) => d === shape[i])) return dy;
  const lead = dy.shape.length - shape.length;
  const axes: number[] = [];
  dy.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  const summed = axes.length ? g.op("ReduceSum", [dy], { axes, keepdims: 1 }) : dy;
  return g.op("Reshape", [summed], { shape: [...shape] });
}

const elementwise = (inputs: readonly Value[]): TypeOf[] => {
  const [a, b] = inputs as [Value, Value];
  if (a.dtype !== b.dtype) fail(`dtypes ${a.dtype} and ${b.dtype} differ`);
  return [{ dtype: a.dtype, shape: broadcastShapes(a.shape, b.shape) }];
};
const unary = (inputs: readonly Value[]): TypeOf[] => {
  const a = inputs[0]!;
  if (!isFloat(a.dtype)) fail(`needs a float input, got ${a.dtype}`);
  return [{ dtype: a.dtype, shape: [...a.shape] }];
};
const simple =
  (opType: string, attrs?: (n: Node) => OnnxNode["attrs"]) =>
  (node: Node, ctx: EmitContext): OnnxNode[] => [
    {
      opType,
      inputs: node.inputs.map((v) => ctx.name(v)),
      outputs: [ctx.name(node.outputs[0]!)],
      attrs: attrs?.(node),
    },
  ];
const scalar = (g: Graph, like: Value, x: number) => g.constant(x, [], like.dtype);
const reducedShape = (shape: readonly number[], axes: number[], keep: boolean) =>
  keep ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
const reduceAxes = (node: Node) =>
  (node.attrs.axes as number[]).map((a) => normAxis(a, node.inputs[0]!.shape.length));
const lastTwoSwapped = (g: Graph, v: Value) => {
  const r = v.shape.length;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
  return g.op("Transpose", [v], { perm });
};

const reduceInfer = (inputs: readonly Value[], attrs: Attrs): TypeOf[] => {
  const a = inputs[0]!;
  const axes = (attrs.axes as number[]).map((x) => normAxis(x, a.shape.length));
  return [{ dtype: a.dtype, shape: reducedShape(a.shape, axes, attrs.keepdims !== 0) }];
};

export type OpName =
  | "Add"
  | "Sub"
  | "Mul"
  | "Div"
  | "Neg"
  | "Exp"
  | "Log"
  | "Sqrt"
  | "Sigmoid"
  | "Tanh"
  | "Softplus"
  | "Relu"
  | "Step"
  | "MatMul"
  | "ReduceSum"
  | "ReduceMean"
  | "Softmax"
  | "LogSoftmax"
  | "Reshape"
  | "Transpose"
  | "Gather"
  | "ScatterAddRows"
  | "Slice"
  | "Pad"
  | "Concat"
  | "Where"
  | "Expand"
  | "Cast"
  | "Max"
  | "GatherLast"
  | "ScatterAddLast"
  | "SoftmaxCrossEntropy"
  | "ScatterAddInto";

export const OPS: Record<OpName, OpDef> = {
  Add: {
    infer: elementwise,
    grad: (g, n, [dy]) => [unbroadcast(g, dy!, n.inputs[0]!.shape), unbroadcast(g, dy!, n.inputs[1]!.shape)],
    emit: simple("Add"),
  },
  Sub: {
    infer: elementwise,
    grad: (g, n, [dy]) => [
      unbroadcast(g, dy!, n.inputs[0]!.shape),
      unbroadcast(g, g.op("Neg", [dy!]), n.inputs[1]!.shape),
    ],
    emit: simple("Sub"),
  },
  Mul: {
    infer: elementwise,
    grad: (g, n, [dy]) => {
      const [a, b] = n.inputs as [Value, Value];
      return [unbroadcast(g, g.op("Mul", [dy!, b]), a.shape), unbroadcast(g, g.op("Mul", [dy!, a]), b.shape)];
    },
    emit: simple("Mul"),
  },
  Div: {
    infer: elementwise,
    grad: (g, n, [dy]) => {
      const [a, b] = n.inputs as [Value, Value];
      const y = n.outputs[0]!;
      const da = g.op("Div", [dy!, b]);
      const db = g.op("Neg", [g.op("Div", [g.op("Mul", [dy!, y]), b])]); // -dy·a/b² = -dy·y/b
      return [unbroadcast(g, da, a.shape), unbroadcast(g, db, b.shape)];
    },
    emit: simple("Div"),
  },
  Neg: { infer: unary, grad: (g, _n, [dy]) => [g.op("Neg", [dy!])], emit: simple("Neg") },
  Exp: { infer: unary, grad: (g, n, [dy]) => [g.op("Mul", [dy!, n.outputs[0]!])], emit: simple("Exp") },
  Log: { infer: unary, grad: (g, n, [dy]) => [g.op("Div", [dy!, n.inputs[0]!])], emit: simple("Log") },
  Sqrt: {
    infer: unary,
    grad: (g, n, [dy]) => {
      const y = n.outputs[0]!;
      return [g.op("Div", [g.op("Mul", [dy!, scalar(g, y, 0.5)]), y])];
    },
    emit: simple("Sqrt"),
  },
  Sigmoid: {
    infer: unary,
    grad: (g, n, [dy]) => {
      const y = n.outputs[0]!;
      return [g.op("Mul", [dy!, g.op("Mul", [y, g.op("Sub", [scalar(g, y, 1), y])])])];
    },
    emit: simple("Sigmoid"),
  },
  /** log(1 + eˣ), computed without overflow by the runtime: DPO's −log σ(z) is softplus(−z). */
  Softplus: {
    infer: unary,
    grad: (g, n, [dy]) => [g.op("Mul", [dy!, g.op("Sigmoid", [n.inputs[0]!])])],
    emit: simple("Softplus"),
  },
  Relu: {
    infer: unary,
    grad: (g, n, [dy]) => [g.op("Mul", [dy!, g.op("Step", [n.inputs[0]!])])],
    emit: simple("Relu"),
  },
  /** 1 where x > 0, else 0 (ONNX has no such op: Relu of Sign). Its derivative is zero wherever it
   * exists, so no gradient flows through it: it counts (DPO's reward accuracy) and gates (Relu's
   * gradient), it is not trained through. */
  Step: {
    infer: unary,
    grad: () => [undefined],
    emit: (node, ctx) => {
      const sign = ctx.fresh("sign");
      return [
        { opType: "Sign", inputs: [ctx.name(node.inputs[0]!)], outputs: [sign] },
        { opType: "Relu", inputs: [sign], outputs: [ctx.name(node.outputs[0]!)] },
      ];
    },
  },
  Tanh: {
    infer: unary,
    grad: (g, n, [dy]) => {
      const y = n.outputs[0]!;
      return [g.op("Mul", [dy!, g.op("Sub", [scalar(g, y, 1), g.op("Mul", [y, y])])])];
    },
    emit: simple("Tanh"),
  },
  MatMul: {
    infer: (inputs) => {
      const [a, b] = inputs as [Value, Value];
      if (a.dtype !== b.dtype || !isFloat(a.dtype)) fail(`needs two float inputs of one dtype`);
      if (a.shape.length < 2 || b.shape.length < 2) fail("needs rank >= 2 inputs");
      const [m, k] = a.shape.slice(-2) as [number, number];
      const [k2, n] = b.shape.slice(-2) as [number, number];
      if (k !== k2) fail(`inner dimensions ${k} and ${k2} differ`);
      const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
      return [{ dtype: a.dtype, shape: [...batch, m, n] }];
    },
    grad: (g, n, [dy]) => {
      const [a, b] = n.inputs as [Value, Value];
      const da = g.op("MatMul", [dy!, lastTwoSwapped(g, b)]);
      if (b.shape.length === 2 && a.shape.length > 2) {
        // A weight shared by every row (a linear layer): its gradient is one GEMM over all B·T rows,
        // [k, M] @ [M, n], not B batched [k, T] @ [T, n] products summed afterwards, which would
        // hold a [B, k, n] intermediate and run B smaller GEMMs.
        const [k, m] = [a.shape.at(-1)!, b.shape[1]!];
        const rows = a.shape.slice(0, -1).reduce((x, y) => x * y, 1);
        const a2 = g.op("Reshape", [a], { shape: [rows, k] }); // [M, k]
        const dy2 = g.op("Reshape", [dy!], { shape: [rows, m] }); // [M, n]
        const db = g.op("MatMul", [g.op("Transpose", [a2], { perm: [1, 0] }), dy2]); // [k, n]
        return [unbroadcast(g, da, a.shape), db];
      }
      const db = g.op("MatMul", [lastTwoSwapped(g, a), dy!]);
      return [unbroadcast(g, da, a.shape), unbroadcast(g, db, b.shape)];
    },
    emit: simple("MatMul"),
  },
  ReduceSum: {
    infer: reduceInfer,
    grad: (g, n, [dy]) => {
      const x = n.inputs[0]!;
      const kept = g.op("Reshape", [dy!], { shape: reducedShape(x.shape, reduceAxes(n), true) });
      return [g.op("Expand", [kept], { shape: [...x.shape] })];
    },
    emit: (n, ctx) => [
      {
        opType: "ReduceSum",
        inputs: [ctx.name(n.inputs[0]!), ctx.int64(reduceAxes(n))],
        outputs: [ctx.name(n.outputs[0]!)],
        attrs: { keepdims: n.attrs.keepdims === 0 ? 0 : 1 },
      },
    ],
  },
  ReduceMean: {
    infer: reduceInfer,
    grad: (g, n, [dy]) => {
      const x = n.inputs[0]!;
      const count = reduceAxes(n).reduce((acc, a) => acc * x.shape[a]!, 1);
      const kept = g.op("Reshape", [g.op("Div", [dy!, scalar(g, dy!, count)])], {
        shape: reducedShape(x.shape, reduceAxes(n), true),
      });
      return [g.op("Expand", [kept], { shape: [...x.shape] })];
    },
    // opset 17 takes ReduceMean's axes as an attribute (ReduceSum's as an input).
    emit: simple("ReduceMean", (n) => ({ axes: reduceAxes(n), keepdims: n.attrs.keepdims === 0 ? 0 : 1 })),
  },
  Softmax: {
    infer: unary,
    grad: (g, n, [dy]) => {
      const y = n.outputs[0]!;
      const axis = (n.attrs.axis as number | undefined) ?? -1;
      const s = g.op("ReduceSum", [g.op("Mul", [dy!, y])], { axes: [axis], keepdims: 1 });
      return [g.op("Mul", [y, g.op("Sub", [dy!, s])])];
    },
    emit: simple("Softmax", (n) => ({ axis: (n.attrs.axis as number | undefined) ?? -1 })),
  },
  LogSoftmax: {
    infer: unary,
    grad: (g, n, [dy]) => {
      const y = n.outputs[0]!;
      const axis = (n.attrs.axis as number | undefined) ?? -1;
      const s = g.op("ReduceSum", [dy!], { axes: [axis], keepdims: 1 });
      return [g.op("Sub", [dy!, g.op("Mul", [g.op("Exp", [y]), s])])];
    },
    emit: simple("LogSoftmax", (n) => ({ axis: (n.attrs.axis as number | undefined) ?? -1 })),
  },
  Reshape: {
    infer: (inputs, attrs) => {
      const a = inputs[0]!;
      const shape = attrs.shape as number[];
      const count = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);
      if (count(shape) !== count(a.shape)) fail(`cannot reshape to [${shape.join(", ")}]`);
      return [{ dtype: a.dtype, shape: [...shape] }];
    },
    grad: (g, n, [dy]) => [g.op("Reshape", [dy!], { shape: [...n.inputs[0]!.shape] })],
    emit: (n, ctx) => [
      {
        opType: "Reshape",
        inputs: [ctx.name(n.inputs[0]!), ctx.int64(n.attrs.shape as number[])],
        outputs: [ctx.name(n.outputs[0]!)],
      },
    ],
  },
  Transpose: {
    infer: (inputs, attrs) => {
      const a = inputs[0]!;
      const perm = attrs.perm as number[];
      if (perm.length !== a.shape.length || [...perm].sort().some((p, i) => p !== i))
        fail(`bad perm [${perm.join(", ")}]`);
      return [{ dtype: a.dtype, shape: perm.map((p) => a.shape[p]!) }];
    },
    grad: (g, n, [dy]) => {
      const perm = n.attrs.perm as number[];
      const inv = perm.map((_, i) => perm.indexOf(i));
      return [g.op("Transpose", [dy!], { perm: inv })];
    },
    emit: simple("Transpose", (n) => ({ perm: n.attrs.perm as number[] })),
  },
  /** Rows of `data` picked by int64 `indices` (axis 0): embedding lookup. */
  Gather: {
    infer: (inputs) => {
      const [data, idx] = inputs as [Value, Value];
      if (idx.dtype !== "int64") fail("indices must be int64");
      return [{ dtype: data.dtype, shape: [...idx.shape, ...data.shape.slice(1)] }];
    },
    grad: (g, n, [dy]) => [
      g.op("ScatterAddRows", [dy!, n.inputs[1]!], { rows: n.inputs[0]!.shape[0]! }),
      undefined,
    ],
    emit: simple("Gather", () => ({ axis: 0 })),
  },
  /** Gather's gradient: a zero [rows, ...] tensor with `updates` added at the rows `indices` name. */
  ScatterAddRows: {
    infer: (inputs, attrs) => {
      const [upd, idx] = inputs as [Value, Value];
      return [{ dtype: upd.dtype, shape: [attrs.rows as number, ...upd.shape.slice(idx.shape.length)] }];
    },
    emit: (n, ctx): OnnxNode[] => {
      const out = n.outputs[0]!;
      const zeros = ctx.fresh("zeros");
      const idx = ctx.fresh("idx");
      return [
        {
          opType: "ConstantOfShape",
          inputs: [ctx.int64(out.shape)],
          outputs: [zeros],
          attrs: { value: { tensorDType: out.dtype, value: 0 } },
        },
        { opType: "Unsqueeze", inputs: [ctx.name(n.inputs[1]!), ctx.int64([-1])], outputs: [idx] },
        {
          opType: "ScatterND",
          inputs: [zeros, idx, ctx.name(n.inputs[0]!)],
          outputs: [ctx.name(out)],
          attrs: { reduction: "add" },
        },
      ];
    },
  },
  /** Static slice along `axes` from `starts` to `ends` (half-open, step 1). */
  Slice: {
    infer: (inputs, attrs) => {
      const a = inputs[0]!;
      const shape = [...a.shape];
      (attrs.axes as number[]).forEach((ax, i) => {
        const axis = normAxis(ax, a.shape.length);
        const s = (attrs.starts as number[])[i]!;
        const e = (attrs.ends as number[])[i]!;
        if (s < 0 || e > a.shape[axis]! || s >= e) fail(`slice [${s}, ${e}) out of range on axis ${axis}`);
        shape[axis] = e - s;
      });
      return [{ dtype: a.dtype, shape }];
    },
    grad: (g, n, [dy]) => {
      const x = n.inputs[0]!;
      const r = x.shape.length;
      const pads = new Array<number>(2 * r).fill(0);
      (n.attrs.axes as number[]).forEach((ax, i) => {
        const axis = normAxis(ax, r);
        pads[axis] = (n.attrs.starts as number[])[i]!;
        pads[axis + r] = x.shape[axis]! - (n.attrs.ends as number[])[i]!;
      });
      return [g.op("Pad", [dy!], { pads })];
    },
    emit: (n, ctx) => [
      {
        opType: "Slice",
        inputs: [
          ctx.name(n.inputs[0]!),
          ctx.int64(n.attrs.starts as number[]),
          ctx.int64(n.attrs.ends as number[]),
          ctx.int64(n.attrs.axes as number[]),
        ],
        outputs: [ctx.name(n.outputs[0]!)],
      },
    ],
  },
  /** Zero padding: `pads` = [begin of each axis..., end of each axis...] (ONNX's order). */
  Pad: {
    infer: (inputs, attrs) => {
      const a = inputs[0]!;
      const pads = attrs.pads as number[];
      const r = a.shape.length;
      if (pads.length !== 2 * r || pads.some((p) => p < 0)) fail(`pads must be 2×rank non-negative numbers`);
      return [{ dtype: a.dtype, shape: a.shape.map((d, i) => d + pads[i]! + pads[i + r]!) }];
    },
    grad: (g, n, [dy]) => {
      const x = n.inputs[0]!;
      const pads = n.attrs.pads as number[];
      const axes = x.shape.map((_, i) => i);
      return [
        g.op("Slice", [dy!], {
          axes,
          starts: axes.map((i) => pads[i]!),
          ends: axes.map((i) => pads[i]! + x.shape[i]!),
        }),
      ];
    },
    emit: (n, ctx) => [
      {
        opType: "Pad",
        inputs: [ctx.name(n.inputs[0]!), ctx.int64(n.attrs.pads as number[])],
        outputs: [ctx.name(n.outputs[0]!)],
      },
    ],
  },
  Concat: {
    infer: (inputs, attrs) => {
      const a = inputs[0]!;
      const axis = normAxis(attrs.axis as number, a.shape.length);
      const shape = [...a.shape];
      shape[axis] = 0;
      for (const v of inputs) {
        if (v.dtype !== a.dtype || v.shape.length !== a.shape.length) fail("inputs differ in dtype or rank");
        v.shape.forEach((d, i) => i !== axis && d !== a.shape[i] && fail(`dimension ${i} differs`));
        shape[axis]! += v.shape[axis]!;
      }
      return [{ dtype: a.dtype, shape }];
    },
    grad: (g, n, [dy]) => {
      const axis = normAxis(n.attrs.axis as number, dy!.shape.length);
      let at = 0;
      return n.inputs.map((v) => {
        const s = at;
        at += v.shape[axis]!;
        return g.op("Slice", [dy!], { axes: [axis], starts: [s], ends: [at] });
      });
    },
    emit: simple("Concat", (n) => ({ axis: n.attrs.axis as number })),
  },
  /** cond ? a : b, broadcasting. */
  Where: {
    infer: (inputs) => {
      const [c, a, b] = inputs as [Value, Value, Value];
      if (c.dtype !== "bool") fail("condition must be bool");
      if (a.dtype !== b.dtype) fail(`dtypes ${a.dtype} and ${b.dtype} differ`);
      return [{ dtype: a.dtype, shape: broadcastShapes(c.shape, broadcastShapes(a.shape, b.shape)) }];
    },
    grad: (g, n, [dy]) => {
      const [c, a, b] = n.inputs as [Value, Value, Value];
      const zero = scalar(g, dy!, 0);
      return [
        undefined,
        unbroadcast(g, g.op("Where", [c, dy!, zero]), a.shape),
        unbroadcast(g, g.op("Where", [c, zero, dy!]), b.shape),
      ];
    },
    emit: simple("Where"),
  },
  Expand: {
    infer: (inputs, attrs) => {
      const a = inputs[0]!;
      return [{ dtype: a.dtype, shape: broadcastShapes(a.shape, attrs.shape as number[]) }];
    },
    grad: (g, n, [dy]) => [unbroadcast(g, dy!, n.inputs[0]!.shape)],
    emit: (n, ctx) => [
      {
        opType: "Expand",
        inputs: [ctx.name(n.inputs[0]!), ctx.int64(n.attrs.shape as number[])],
        outputs: [ctx.name(n.outputs[0]!)],
      },
    ],
  },
  /** Elementwise maximum, broadcasting. No gradient rule: used after the gradients (clipping), never differentiated. */
  Max: { infer: elementwise, emit: simple("Max") },
  /** out[..., j] = data[..., idx[..., j]] along the last axis (ONNX GatherElements): picks target log-probs. */
  GatherLast: {
    infer: (inputs) => {
      const [data, idx] = inputs as [Value, Value];
      if (idx.dtype !== "int64") fail("indices must be int64");
      if (idx.shape.length !== data.shape.length) fail("indices must have the data's rank");
      return [{ dtype: data.dtype, shape: [...idx.shape] }];
    },
    grad: (g, n, [dy]) => [
      g.op("ScatterAddLast", [dy!, n.inputs[1]!], {
        size: n.inputs[0]!.shape[n.inputs[0]!.shape.length - 1]!,
      }),
      undefined,
    ],
    emit: simple("GatherElements", (n) => ({ axis: n.inputs[0]!.shape.length - 1 })),
  },
  /** GatherLast's gradient: zeros with the last axis of length `size`, updates added at idx. */
  ScatterAddLast: {
    infer: (inputs, attrs) => {
      const upd = inputs[0]!;
      return [{ dtype: upd.dtype, shape: [...upd.shape.slice(0, -1), attrs.size as number] }];
    },
    emit: (n, ctx): OnnxNode[] => {
      const out = n.outputs[0]!;
      const zeros = ctx.fresh("zeros");
      return [
        {
          opType: "ConstantOfShape",
          inputs: [ctx.int64(out.shape)],
          outputs: [zeros],
          attrs: { value: { tensorDType: out.dtype, value: 0 } },
        },
        {
          opType: "ScatterElements",
          inputs: [zeros, ctx.name(n.inputs[1]!), ctx.name(n.inputs[0]!)],
          outputs: [ctx.name(out)],
          attrs: { axis: out.shape.length - 1, reduction: "add" },
        },
      ];
    },
  },
  /**
   * Cross-entropy of logits [..., V] at targets [..., 1] (int64): logsumexp(logits) − logits[target],
   * [..., 1]. One op, so that the backward pass holds no log-probabilities of the whole vocabulary:
   * the gradient is softmax(logits) − one-hot(target), built in one [..., V] tensor (a LogSoftmax, a
   * gather and their gradients kept six of them).
   */
  SoftmaxCrossEntropy: {
    infer: (inputs) => {
      const [logits, idx] = inputs as [Value, Value];
      if (!isFloat(logits.dtype)) fail("logits must be float");
      if (idx.dtype !== "int64") fail("targets must be int64");
      if (idx.shape.length !== logits.shape.length || idx.shape.at(-1) !== 1)
        fail("targets must have the logits' shape with a last axis of 1");
      return [{ dtype: logits.dtype, shape: [...idx.shape] }];
    },
    grad: (g, n, [dy]) => {
      const [logits, idx] = n.inputs as [Value, Value];
      const probs = g.op("Softmax", [logits], { axis: -1 }); // [..., V]
      const count = idx.shape.reduce((a, b) => a * b, 1);
      const minusOne = g.constant(new Array<number>(count).fill(-1), [...idx.shape], logits.dtype); // [..., 1]
      const delta = g.op("ScatterAddInto", [probs, idx, minusOne]); // softmax − one-hot
      return [g.op("Mul", [delta, dy!]), undefined];
    },
    // Forward as LogSoftmax, gather, negate: onnxruntime's LogSoftmax kernel is faster than its
    // generic ReduceLogSumExp, and its [..., V] output is a temporary, freed after the gather (the
    // gradient reads the logits, not it).
    emit: (n, ctx): OnnxNode[] => {
      const [logits, idx] = n.inputs as [Value, Value];
      const logp = ctx.fresh("logp");
      const picked = ctx.fresh("picked");
      const axis = logits.shape.length - 1;
      return [
        { opType: "LogSoftmax", inputs: [ctx.name(logits)], outputs: [logp], attrs: { axis } },
        { opType: "GatherElements", inputs: [logp, ctx.name(idx)], outputs: [picked], attrs: { axis } },
        { opType: "Neg", inputs: [picked], outputs: [ctx.name(n.outputs[0]!)] },
      ];
    },
  },
  /** data with updates added at idx along the last axis (ScatterElements, reduction add); a gradient's building block. */
  ScatterAddInto: {
    infer: (inputs) => {
      const [data, idx, upd] = inputs as [Value, Value, Value];
      if (idx.dtype !== "int64") fail("indices must be int64");
      if (upd.shape.length !== idx.shape.length || upd.shape.some((d, i) => d !== idx.shape[i]))
        fail("updates must have the indices' shape");
      return [{ dtype: data.dtype, shape: [...data.shape] }];
    },
    emit: simple("ScatterElements", (n) => ({ axis: n.inputs[0]!.shape.length - 1, reduction: "add" })),
  },
  Cast: {
    infer: (inputs, attrs) => [{ dtype: attrs.to as GDType, shape: [...inputs[0]!.shape] }],
    grad: (g, n, [dy]) => {
      const from = n.inputs[0]!.dtype;
      return [isFloat(from) ? g.op("Cast", [dy!], { to: from }) : undefined];
    },
    emit: simple("Cast", (n) => ({ to: ONNX_DTYPE[n.attrs.to as GDType] })),
  },
};

/** ONNX TensorProto.DataType codes. */
export const ONNX_DTYPE: Record<GDType, number> = { float32: 1, int64: 7, bool: 9, float64: 11 };
