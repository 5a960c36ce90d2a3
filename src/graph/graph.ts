// A small tensor-graph IR: values with static shapes and dtypes, nodes from a fixed op table
// (ops.ts), shape inference at construction, so a wrong shape fails where the model code made it.
import { GraphError } from "../errors.js";
import { OPS, type Attrs, type OpName } from "./ops.js";

export type GDType = "float32" | "float64" | "int64" | "bool";

export interface Value {
  readonly id: number;
  readonly name: string;
  readonly dtype: GDType;
  readonly shape: readonly number[];
  /** The node that computes it; undefined for inputs and constants. */
  readonly producer?: Node;
  /** Constant data, for constants (become ONNX initializers). */
  readonly data?: Float32Array | Float64Array | BigInt64Array | Uint8Array;
  readonly kind: "input" | "constant" | "node";
}

export interface Node {
  readonly op: OpName;
  readonly inputs: readonly Value[];
  readonly outputs: readonly Value[];
  readonly attrs: Attrs;
}

export const numelOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export class Graph {
  readonly inputs: Value[] = [];
  readonly constants: Value[] = [];
  readonly nodes: Node[] = [];
  private nextId = 0;

  private make(v: Omit<Value, "id" | "name"> & { name?: string }): Value {
    const id = this.nextId++;
    return { ...v, id, name: v.name ?? `v${id}` };
  }

  input(name: string, dtype: GDType, shape: readonly number[]): Value {
    if (this.inputs.some((i) => i.name === name)) throw new GraphError(`duplicate graph input ${name}`);
    const v = this.make({ name, dtype, shape: [...shape], kind: "input" });
    this.inputs.push(v);
    return v;
  }

  /** A constant tensor; a plain number gives a scalar of `dtype`. */
  constant(
    data: number | number[] | Float32Array | Float64Array | BigInt64Array,
    shape: readonly number[] = [],
    dtype: GDType = "float32",
  ): Value {
    let arr: Float32Array | Float64Array | BigInt64Array;
    if (typeof data === "number") data = [data];
    if (Array.isArray(data)) {
      arr =
        dtype === "float64"
          ? Float64Array.from(data)
          : dtype === "int64"
            ? BigInt64Array.from(data.map((x) => BigInt(x)))
            : Float32Array.from(data);
    } else {
      arr = data;
    }
    if (arr.length !== numelOf(shape)) {
      throw new GraphError(`constant has ${arr.length} elements but shape [${shape.join(", ")}]`);
    }
    const v = this.make({ dtype, shape: [...shape], data: arr, kind: "constant" });
    this.constants.push(v);
    return v;
  }

  /** Adds a node; its outputs' dtypes and shapes come from the op's inference rule. */
  apply(op: OpName, inputs: readonly Value[], attrs: Attrs = {}): Value[] {
    const def = OPS[op];
    if (!def) throw new GraphError(`unknown op ${op}`);
    let types;
    try {
      types = def.infer(inputs, attrs);
    } catch (e) {
      const shapes = inputs.map((i) => `${i.dtype}[${i.shape.join(", ")}]`).join(", ");
      throw new GraphError(`${op}(${shapes}): ${(e as Error).message}`);
    }
    const outputs: Value[] = [];
    const node: Node = { op, inputs: [...inputs], outputs, attrs };
    for (const t of types)
      outputs.push(this.make({ dtype: t.dtype, shape: t.shape, producer: node, kind: "node" }));
    this.nodes.push(node);
    return outputs;
  }

  /** One-output ops. */
  op(op: OpName, inputs: readonly Value[], attrs: Attrs = {}): Value {
    return this.apply(op, inputs, attrs)[0]!;
  }
}
