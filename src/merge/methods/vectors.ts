// Small float64 helpers over flat row-major float32 tensors, shared by the methods that work on
// vectors inside a tensor (nuslerp rows/columns, DELLA rows, model_stock filter_wise rows).

/**
 * The vectors of a row-major tensor along one axis. Element (o, k, i) of the tensor, where k indexes
 * the axis, is at flat index (o * length + k) * inner + i; each (o, i) pair is one vector of `length`
 * elements with stride `inner`.
 */
export interface AxisLayout {
  outer: number;
  length: number;
  inner: number;
}

/** The layout of `shape` along `axis` (a scalar shape [] is one vector of one element). */
export function axisLayout(shape: readonly number[], axis: number): AxisLayout {
  if (shape.length === 0) return { outer: 1, length: 1, inner: 1 };
  const a = axis < 0 ? shape.length + axis : axis;
  const prod = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);
  return { outer: prod(shape.slice(0, a)), length: shape[a]!, inner: prod(shape.slice(a + 1)) };
}

/** Calls fn(start, stride) once per vector of the layout; the vector's elements are start + k * stride. */
export function forEachVector(l: AxisLayout, fn: (start: number, stride: number) => void): void {
  for (let o = 0; o < l.outer; o++) {
    for (let i = 0; i < l.inner; i++) fn(o * l.length * l.inner + i, l.inner);
  }
}

/** Σ a[k]·b[k] over one vector, in float64. */
export function dotAt(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  start: number,
  stride: number,
  length: number,
): number {
  let s = 0;
  for (let k = 0, j = start; k < length; k++, j += stride) s += a[j]! * b[j]!;
  return s;
}

/** Euclidean norm of a whole array, in float64. */
export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dotAt(a, a, 0, 1, a.length));
}

/** x − y elementwise, in float64 (deltas against a base stay exact before any rounding). */
export function difference(x: Float32Array, y: Float32Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let j = 0; j < x.length; j++) out[j] = x[j]! - y[j]!;
  return out;
}
