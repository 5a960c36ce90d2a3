// What every fuzz target shares: the commands a case runs, what a case expects of an exit 0, and
// the clean inputs each corruption starts from.
import { stringify as yamlStringify } from "yaml";
import type { OracleTensor } from "./safetensorsOracle.js";

export type Command = "inspect" | "upscale" | "eval" | "merge";
export const MODEL_COMMANDS: readonly Command[] = ["inspect", "upscale", "eval", "merge"];

/**
 * What an exit 0 must look like (a clean one-line refusal is always acceptable):
 * - fail: the input is invalid; exit 0 is a wrong result.
 * - same: the corruption is harmless; exit 0 must give exactly the clean input's result.
 * - differ: the input asks for something else (another activation); exit 0 with the clean result
 *   means it was ignored.
 * - any: the input is valid but different; any result, as long as it is sane (finite).
 */
export type Expect =
  { kind: "fail"; why: string } | { kind: "same" } | { kind: "differ"; why: string } | { kind: "any" };

export const FAIL = (why: string): Expect => ({ kind: "fail", why });
export const SAME: Expect = { kind: "same" };
export const ANY: Expect = { kind: "any" };

/** The strongest of several expectations (fail > differ > any > same): several keys changed at once. */
export function combine(list: readonly Expect[]): Expect {
  const rank = { fail: 3, differ: 2, any: 1, same: 0 } as const;
  let best: Expect = SAME;
  for (const e of list) {
    if (rank[e.kind] > rank[best.kind]) best = e;
    else if (e.kind === "differ" && best.kind === "differ") best = e;
  }
  // "differ" next to another real change cannot be checked: the other change alone may alter the result.
  if (best.kind === "differ" && list.some((e) => e.kind === "any")) return ANY;
  return best;
}

/** Paths inside one case's folder. `a` is the model corruptions target; `b` a clean second model. */
export interface Workspace {
  root: string;
  inDir: string;
  a: string;
  b: string;
  text: string;
  yaml: string;
  outParent: string;
  out: string;
}

/** The clean inputs, read once: corruptions start from these. */
export interface Clean {
  safetensors: Buffer;
  tensors: OracleTensor[];
  config: Record<string, unknown>;
  configText: string;
  tokenizer: Record<string, unknown>;
  tokenizerText: string;
  vocabSize: number;
  layers: number;
}

/** A case made concrete: its files are written, and this says how to run and judge it. */
export interface Prepared {
  args: string[];
  /** Key of the clean run whose result exit 0 is compared with. */
  baseline: string;
  /** The kind of corruption, for grouping failures. */
  kind: string;
  /** The corruption in full, to reproduce by hand. */
  detail: string;
  expect: Expect;
  /** Whether exit 0 must leave an output folder at ws.out. */
  writesOutput: boolean;
  /** Whether exit 0 must write only finite floats (merges always; a copy whose inputs are finite). */
  finiteOutput: boolean;
  /** A further check of a successful output; returns what is wrong, or undefined. */
  check?: (out: string) => string | undefined;
}

/** The command line of a model-folder command on the case's model A (merge: the clean linear config). */
export function modelCommand(cmd: Command, ws: Workspace): { args: string[]; baseline: string } {
  switch (cmd) {
    case "inspect":
      return { args: ["inspect", ws.a, "--json"], baseline: "inspect" };
    case "upscale":
      return { args: ["upscale", ws.a, "-o", ws.out, "--json"], baseline: "upscale" };
    case "eval":
      return { args: ["eval", ws.a, "--perplexity", ws.text, "--json"], baseline: "eval" };
    case "merge":
      return { args: ["merge", ws.yaml, "-o", ws.out, "--json"], baseline: "merge:linear" };
  }
}

/** The merge config model-folder cases run `merge` with: A and B, half each. */
export function linearMergeYaml(ws: Workspace): string {
  return yamlStringify({
    models: [
      { model: ws.a, parameters: { weight: 0.5 } },
      { model: ws.b, parameters: { weight: 0.5 } },
    ],
    merge_method: "linear",
  });
}

/** Values of the JSON and YAML number vocabulary: boundaries, overflows, near misses. */
export const JSON_NUMBERS = [
  "0",
  "-0",
  "-1",
  "1",
  "2",
  "3",
  "0.5",
  "1.5",
  "1e-300",
  "5e-324",
  "63",
  "65",
  "1e9",
  "2147483647",
  "2147483648",
  "4294967296",
  "9007199254740993",
  "1e308",
  "1e400",
  "-1e400",
];
/** Not-a-number spellings: Python's json accepts the bare ones, JSON.parse does not. */
export const JSON_NANISH = [
  "NaN",
  "Infinity",
  "-Infinity",
  '"NaN"',
  '"Infinity"',
  '"-Infinity"',
  '"1e9"',
  '"64"',
];
export const JSON_OTHER = [
  "null",
  "true",
  "false",
  "[]",
  "{}",
  "[64]",
  '{"a": 1}',
  '""',
  '"constructor"',
  '"__proto__"',
  '"silu"',
];
export const PROTO_KEYS = [
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "isPrototypeOf",
];

/** The JavaScript value a JSON text means, with Python's json's NaN and Infinity literals understood. */
export function jsonMeaning(text: string): unknown {
  const bare: Record<string, number> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };
  if (Object.hasOwn(bare, text)) return bare[text];
  return JSON.parse(text);
}

/** Deep equality of JSON-like values (NaN equals NaN). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a === "number" && typeof b === "number") return a === b;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every(
    (k) =>
      Object.hasOwn(b, k) && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}

/** A nesting of `depth` arrays (or single-key objects) around `inner`, as JSON/YAML flow text. */
export function nested(depth: number, inner: string, obj: boolean): string {
  return obj
    ? '{"a": '.repeat(depth) + inner + "}".repeat(depth)
    : "[".repeat(depth) + inner + "]".repeat(depth);
}

export const flip = (buf: Buffer, pos: number, bit: number): Buffer => {
  const b = Buffer.from(buf);
  b[pos] = b[pos]! ^ (1 << bit);
  return b;
};

/** Text shortened for a one-line report. */
export const clip = (s: string, n = 120) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);
