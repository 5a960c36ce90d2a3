// mergekit's parameter values: a scalar, a gradient (a list of numbers interpolated over the
// layers of a slice), or a list of {filter, value} tried in order against the tensor's name,
// where a filter matches as a glob anywhere in the name and an entry without a filter always matches.

export type Gradient = number | number[];
export interface ConditionalValue {
  filter?: string;
  value: Gradient;
}
export type ParameterSetting = Gradient | ConditionalValue[];

function globAnywhere(filter: string): RegExp {
  const body = filter
    .replace(/[.+^${}()|\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(body);
}

/** Linear interpolation through a gradient's points at t ∈ [0, 1], as mergekit runs `t` over a slice's layers. */
export function interpolate(g: Gradient, t: number): number {
  if (typeof g === "number") return g;
  if (g.length === 1) return g[0]!;
  const x = Math.min(Math.max(t, 0), 1) * (g.length - 1);
  const i = Math.min(Math.floor(x), g.length - 2);
  const f = x - i;
  return g[i]! * (1 - f) + g[i + 1]! * f;
}

/** The value a setting gives the tensor `name` at position t; undefined when no filter matches. */
export function evaluateSetting(setting: ParameterSetting, name: string, t: number): number | undefined {
  if (
    typeof setting === "number" ||
    (Array.isArray(setting) && setting.every((v) => typeof v === "number"))
  ) {
    return interpolate(setting as Gradient, t);
  }
  for (const cond of setting as ConditionalValue[]) {
    if (cond.filter === undefined || cond.filter === "*" || globAnywhere(cond.filter).test(name)) {
      return interpolate(cond.value, t);
    }
  }
  return undefined;
}
