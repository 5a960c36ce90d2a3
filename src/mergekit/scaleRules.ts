// mergekit's parameter values: a scalar, a gradient (a list of numbers interpolated over the
// layers of a slice), or a list of {filter, value} tried in order against the tensor's name,
// where a filter matches as a glob anywhere in the name (glob.ts) and an entry without a filter
// always matches.
import { type Glob, globMatchesAnywhere, parseGlob, showFilter } from "./glob.js";

export type Gradient = number | number[];
export interface ConditionalValue {
  filter?: string;
  /** The filter parsed, once, when the setting is read. */
  glob?: Glob;
  value: Gradient;
}
export type ParameterSetting = Gradient | ConditionalValue[];

function filterMatches(cond: ConditionalValue, name: string): boolean {
  if (cond.filter === undefined || cond.filter === "*") return true;
  const glob = cond.glob ?? parseGlob(cond.filter);
  if (typeof glob === "string") throw new Error(`filter ${showFilter(cond.filter)}: ${glob}`); // parseParameterSetting refuses these
  return globMatchesAnywhere(glob, name);
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

/**
 * The value a setting gives the tensor `name` at position t; undefined when no filter matches. A
 * tensor known by several names (a GGUF tensor and its Hugging Face name) matches a filter if any does.
 */
export function evaluateSetting(
  setting: ParameterSetting,
  name: string | readonly string[],
  t: number,
): number | undefined {
  const names = typeof name === "string" ? [name] : name;
  if (
    typeof setting === "number" ||
    (Array.isArray(setting) && setting.every((v) => typeof v === "number"))
  ) {
    return interpolate(setting as Gradient, t);
  }
  for (const cond of setting as ConditionalValue[]) {
    if (names.some((n) => filterMatches(cond, n))) {
      return interpolate(cond.value, t);
    }
  }
  return undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Reads one parameter value as mergekit writes it: a number, a gradient list, or {filter, value}
 * entries (a single {value} mapping too). `fail` turns a message into the caller's error, naming
 * the file; `where` names the place in it.
 */
export function parseParameterSetting(
  v: unknown,
  where: string,
  fail: (detail: string) => Error,
): ParameterSetting {
  const gradient = (g: unknown, w: string): Gradient => {
    if (typeof g === "number" && Number.isFinite(g)) return g;
    if (typeof g === "boolean") return g ? 1 : 0;
    if (Array.isArray(g) && g.length > 0 && g.every((x) => typeof x === "number" && Number.isFinite(x)))
      return g as number[];
    throw fail(
      `${w} must be a number, a list of numbers, or {filter, value} entries; got ${JSON.stringify(g)}`,
    );
  };
  if (Array.isArray(v) && v.some(isObject)) {
    return v.map((c, i): ConditionalValue => {
      const w = `${where}[${i}]`;
      if (!isObject(c) || !("value" in c)) throw fail(`${w} must be {filter, value} or {value}`);
      if (c.filter === undefined) return { value: gradient(c.value, `${w}.value`) };
      if (typeof c.filter !== "string") throw fail(`${w}.filter must be a string`);
      const glob = parseGlob(c.filter);
      if (typeof glob === "string")
        throw fail(`${w}.filter ${showFilter(c.filter)} is not a valid glob: ${glob}`);
      return { filter: c.filter, glob, value: gradient(c.value, `${w}.value`) };
    });
  }
  if (isObject(v) && "value" in v) return parseParameterSetting([v], where, fail);
  return gradient(v, where);
}
