import { GraphError } from "../errors.js";
import { VERSION } from "../version.js";
import type { GDType, Graph, Value } from "./graph.js";
import { ATTR_TYPE, IR_VERSION, ModelProto, OPSET } from "./onnxSchema.js";
import { type EmitContext, ONNX_DTYPE, OPS, type OnnxNode } from "./ops.js";

export interface OnnxModel {
  bytes: Uint8Array;
  /** Graph inputs the model takes (unused inputs are left out), in declaration order. */
  inputs: string[];
  outputs: string[];
}

type Data = Float32Array | Float64Array | BigInt64Array | Uint8Array;

function tensorProto(name: string, dtype: GDType, dims: readonly number[], data: Data) {
  return {
    name,
    dims: [...dims],
    data_type: ONNX_DTYPE[dtype],
    raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

function valueInfo(name: string, dtype: GDType, shape: readonly number[]) {
  return {
    name,
    type: {
      tensor_type: { elem_type: ONNX_DTYPE[dtype], shape: { dim: shape.map((d) => ({ dim_value: d })) } },
    },
  };
}

function attribute(name: string, v: NonNullable<OnnxNode["attrs"]>[string]) {
  if (typeof v === "string") return { name, type: ATTR_TYPE.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === "number") return { name, type: ATTR_TYPE.INT, i: v };
  if (Array.isArray(v)) return { name, type: ATTR_TYPE.INTS, ints: v };
  const data = v.tensorDType === "float64" ? Float64Array.of(v.value) : Float32Array.of(v.value);
  return { name, type: ATTR_TYPE.TENSOR, t: tensorProto("", v.tensorDType, [1], data) };
}

/**
 * Serialises the part of `g` that computes `outputs` as an ONNX ModelProto. Parameters stay graph
 * inputs (fed at run time), so weights never enter the protobuf and its 2 GB limit does not apply.
 */
export function toOnnx(g: Graph, outputs: Record<string, Value>): OnnxModel {
  // Nodes the outputs need, in graph (topological) order.
  const needed = new Set<number>(Object.values(outputs).map((v) => v.id));
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (n.outputs.some((o) => needed.has(o.id))) for (const inp of n.inputs) needed.add(inp.id);
  }
  const nodes = g.nodes.filter((n) => n.outputs.some((o) => needed.has(o.id)));
  const initializers: ReturnType<typeof tensorProto>[] = [];
  const int64Names = new Map<string, string>();
  let fresh = 0;
  // A computed value that is an output takes the output's name where it is made: an Identity to
  // rename it would be a copy of every updated parameter and moment, every training step.
  const outNameOf = new Map<number, string>();
  for (const [name, v] of Object.entries(outputs))
    if (v.kind === "node" && !outNameOf.has(v.id)) outNameOf.set(v.id, name);
  const ctx: EmitContext = {
    name: (v: Value) => outNameOf.get(v.id) ?? v.name,
    int64(values) {
      const key = values.join(",");
      let name = int64Names.get(key);
      if (!name) {
        name = `i64_${int64Names.size}`;
        int64Names.set(key, name);
        initializers.push(
          tensorProto(name, "int64", [values.length], BigInt64Array.from(values.map((x) => BigInt(x)))),
        );
      }
      return name;
    },
    fresh: (hint) => `${hint}_t${fresh++}`,
  };
  for (const c of g.constants)
    if (needed.has(c.id)) initializers.push(tensorProto(c.name, c.dtype, c.shape, c.data!));
  const onnxNodes = nodes.flatMap((n) => OPS[n.op].emit(n, ctx));
  const outNames = Object.keys(outputs);
  for (const [name, v] of Object.entries(outputs)) {
    if (g.inputs.some((i) => i.name === name && i !== v))
      throw new GraphError(`output ${name} clashes with an input`);
    // Inputs and constants passed straight through, and a value given under a second name, still need one.
    if (outNameOf.get(v.id) !== name)
      onnxNodes.push({ opType: "Identity", inputs: [ctx.name(v)], outputs: [name] });
  }
  const inputs = g.inputs.filter((i) => needed.has(i.id));
  const model = {
    ir_version: IR_VERSION,
    opset_import: [{ domain: "", version: OPSET }],
    producer_name: "deepen",
    producer_version: VERSION,
    graph: {
      name: "deepen",
      node: onnxNodes.map((n, k) => ({
        name: `n${k}_${n.opType}`,
        op_type: n.opType,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {})
          .filter(([, v]) => v !== undefined)
          .map(([k2, v]) => attribute(k2, v)),
      })),
      initializer: initializers,
      input: inputs.map((i) => valueInfo(i.name, i.dtype, i.shape)),
      output: Object.entries(outputs).map(([name, v]) => valueInfo(name, v.dtype, v.shape)),
    },
  };
  const bytes = ModelProto.encode(ModelProto.fromObject(model)).finish();
  return { bytes, inputs: inputs.map((i) => i.name), outputs: outNames };
}
