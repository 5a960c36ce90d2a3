// Corrupted variants of model A's config.json: each key set to boundary numbers, huge counts,
// wrong types, null, NaN-ish strings and literals, deleted or duplicated; prototype and unknown keys
// added; rope_scaling, hidden_act and layer_types variants; deep nesting; truncation, bit flips and
// a root that is not an object. Whether exit 0 is allowed is decided per key, as transformers reads
// the key (its defaults, its activation table) and as issue 15 asks (a misused value is an error).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import {
  ANY,
  type Clean,
  clip,
  combine,
  type Command,
  type Expect,
  FAIL,
  flip,
  JSON_NANISH,
  JSON_NUMBERS,
  JSON_OTHER,
  jsonMeaning,
  linearMergeYaml,
  MODEL_COMMANDS,
  modelCommand,
  nested,
  type Prepared,
  PROTO_KEYS,
  SAME,
  sameValue,
  type Workspace,
} from "./cases.js";

export type ConfigMutation =
  | { m: "set"; key: string; value: string }
  | { m: "delete"; key: string }
  | { m: "add"; key: string; value: string }
  | { m: "duplicate"; key: string; value: string }
  | { m: "hidden-act"; value: string }
  | { m: "rope-scaling"; type: string; factor: string }
  | { m: "layer-types"; value: string }
  | { m: "nest"; key: string; depth: number; obj: boolean }
  | { m: "truncate"; pos: number }
  | { m: "bitflip"; pos: number; bit: number }
  | { m: "root"; text: string };

export interface ConfigCase {
  target: "config";
  command: Command;
  mut: ConfigMutation;
}

/** Keys whose value must agree with the checkpoint's tensors (transformers' LlamaConfig defaults differ from the fixture's). */
const STRUCTURAL = new Set([
  "architectures",
  "hidden_size",
  "intermediate_size",
  "num_attention_heads",
  "num_key_value_heads",
  "head_dim",
  "num_hidden_layers",
  "vocab_size",
]);
/** transformers' ACT2FN names other than SiLU's. */
const OTHER_ACTIVATIONS = [
  "gelu",
  "gelu_new",
  "gelu_fast",
  "gelu_pytorch_tanh",
  "quick_gelu",
  "relu",
  "relu2",
  "relu6",
  "tanh",
  "sigmoid",
  "mish",
  "leaky_relu",
  "linear",
];
const ROPE_TYPES = ["default", "linear", "dynamic", "yarn", "longrope", "llama3"];
const VALUES = [...JSON_NUMBERS, ...JSON_NANISH, ...JSON_OTHER];

/** Keys fuzzed: the fixture's config keys (llama, as test/fixtures/syntheticModel.ts writes it). */
const KEYS = [
  "architectures",
  "model_type",
  "hidden_size",
  "intermediate_size",
  "num_attention_heads",
  "num_key_value_heads",
  "head_dim",
  "num_hidden_layers",
  "vocab_size",
  "tie_word_embeddings",
  "max_position_embeddings",
  "rms_norm_eps",
  "rope_theta",
  "hidden_act",
  "bos_token_id",
  "eos_token_id",
  "torch_dtype",
];

export const configMutation: fc.Arbitrary<ConfigMutation> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      m: fc.constant("set"),
      key: fc.constantFrom(...KEYS),
      value: fc.constantFrom(...VALUES),
    }),
  },
  fc.record({ m: fc.constant("delete"), key: fc.constantFrom(...KEYS) }),
  fc.record({
    m: fc.constant("add"),
    key: fc.oneof(
      fc.constantFrom(...PROTO_KEYS),
      fc.string({ maxLength: 12 }).map((s) => `fuzz_${s}`),
    ),
    value: fc.constantFrom(...VALUES, '{"num_hidden_layers": 100, "hidden_act": "gelu"}'),
  }),
  fc.record({
    m: fc.constant("duplicate"),
    key: fc.constantFrom(...KEYS),
    value: fc.constantFrom(...VALUES),
  }),
  fc.record({
    m: fc.constant("hidden-act"),
    value: fc.constantFrom(
      "silu",
      "swish",
      ...OTHER_ACTIVATIONS,
      "SiLU",
      "silu ",
      "fuzz",
      "constructor",
      "__proto__",
      "toString",
    ),
  }),
  {
    weight: 2,
    arbitrary: fc.record({
      m: fc.constant("rope-scaling"),
      type: fc.constantFrom(
        ...ROPE_TYPES.map((t) => JSON.stringify(t)),
        '"fuzz"',
        '"constructor"',
        "null",
        "1",
      ),
      factor: fc.constantFrom(
        "absent",
        "0",
        "-1",
        "-0",
        "0.5",
        "2",
        "1e-300",
        "1e308",
        "1e400",
        "NaN",
        '"2"',
        "null",
        "[]",
      ),
    }),
  },
  fc.record({
    m: fc.constant("layer-types"),
    value: fc.constantFrom(
      '["full_attention", "full_attention"]',
      '["full_attention"]',
      '["full_attention", "full_attention", "full_attention"]',
      '["full_attention", "fuzz"]',
      '["full_attention", 1]',
      '"full_attention"',
      "null",
      "[]",
      "{}",
    ),
  }),
  fc.record({
    m: fc.constant("nest"),
    key: fc.constantFrom(...KEYS, "fuzz_nested"),
    depth: fc.constantFrom(1, 2, 100, 10_000, 100_000),
    obj: fc.boolean(),
  }),
  fc.record({ m: fc.constant("truncate"), pos: fc.nat() }),
  fc.record({ m: fc.constant("bitflip"), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    m: fc.constant("root"),
    text: fc.constantFrom("", "[]", "null", "1", '"config"', "[{}]", "{", "{}}"),
  }),
) as fc.Arbitrary<ConfigMutation>;

export const configCase: fc.Arbitrary<ConfigCase> = fc.record({
  target: fc.constant("config" as const),
  command: fc.constantFrom(...MODEL_COMMANDS),
  mut: configMutation,
});

const DELETED = Symbol("deleted");
type After = unknown | typeof DELETED;

const positiveFinite = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v > 0;
const positiveInt = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v > 0;
const show = (v: After) =>
  v === DELETED
    ? "deleted"
    : typeof v === "number" && !Number.isFinite(v)
      ? String(v)
      : clip(JSON.stringify(v) ?? String(v), 60);

function ropeScalingExpect(v: unknown): Expect {
  if (v === null) return SAME;
  if (typeof v !== "object" || Array.isArray(v)) return FAIL(`rope_scaling ${show(v)} is not an object`);
  const rs = v as Record<string, unknown>;
  const type = rs.rope_type ?? rs.type ?? "default";
  if (typeof type !== "string" || !ROPE_TYPES.includes(type))
    return FAIL(`rope_scaling type ${show(type)} is not a rope type`);
  if ("factor" in rs && !positiveFinite(rs.factor))
    return FAIL(`rope_scaling.factor ${show(rs.factor)} is not a positive number`);
  if (type !== "default" && !("factor" in rs)) return FAIL(`rope_scaling type ${type} needs a factor`);
  // transformers refuses llama3 without its three other keys (the cases never write them).
  if (type === "llama3" && !("original_max_position_embeddings" in rs))
    return FAIL(
      "rope_scaling type llama3 needs low_freq_factor, high_freq_factor, original_max_position_embeddings",
    );
  return type === "default" ? SAME : ANY;
}

/** What exit 0 must mean when config key `key` goes from `before` to `after`, for `cmd`. */
function keyExpect(
  key: string,
  before: unknown,
  after: After,
  cmd: Command,
  config: Record<string, unknown>,
): Expect {
  if (after !== DELETED && before !== undefined && sameValue(before, after)) return SAME;
  if (cmd === "inspect") return ANY;
  const was = `${key} ${show(before)} -> ${show(after)}`;
  const tensorsOut = cmd === "upscale" || cmd === "merge";
  if (STRUCTURAL.has(key)) {
    if (after === DELETED && key === "head_dim") return SAME; // hidden_size / num_attention_heads gives 16 again
    return FAIL(`${was}: no longer matches the checkpoint's tensors`);
  }
  switch (key) {
    case "tie_word_embeddings":
      if (after === DELETED) return SAME; // transformers' default: false, as the fixture
      return typeof after === "boolean" ? ANY : FAIL(`${was}: not a boolean`);
    case "rms_norm_eps":
      if (tensorsOut || after === DELETED) return SAME; // LlamaConfig's default is the fixture's 1e-6
      return positiveFinite(after) ? ANY : FAIL(`${was}: not a positive number`);
    case "rope_theta":
      if (tensorsOut || after === DELETED) return SAME; // default 10000, as the fixture
      return positiveFinite(after) ? ANY : FAIL(`${was}: not a positive number`);
    case "max_position_embeddings":
      if (tensorsOut) return SAME;
      return after === DELETED || positiveInt(after) ? ANY : FAIL(`${was}: not a positive integer`);
    case "hidden_act":
      if (tensorsOut || after === DELETED || after === "silu" || after === "swish") return SAME;
      if (typeof after === "string" && OTHER_ACTIVATIONS.includes(after))
        return { kind: "differ", why: `${was}: exit 0 with SiLU's result means the activation was ignored` };
      return FAIL(`${was}: not an activation transformers knows`);
    case "rope_scaling":
      if (tensorsOut || after === DELETED) return SAME;
      return ropeScalingExpect(after);
    case "layer_types": {
      // A layer map rewrites layer_types per layer: it needs one attention kind (a string) per layer;
      // surgery carries kinds it does not know with their layers, as it carries their tensors.
      const n = config.num_hidden_layers;
      const ok =
        after === DELETED ||
        after === null ||
        (Array.isArray(after) && after.length === n && after.every((t) => typeof t === "string"));
      // A merge of whole models keeps the layers, so it copies the key as any other; eval of a llama ignores it.
      if (cmd === "eval") return ANY;
      if (cmd === "merge") return SAME;
      return ok ? SAME : FAIL(`${was}: not one layer type per layer, so the layer map cannot rewrite it`);
    }
    case "model_type":
    case "bos_token_id":
    case "eos_token_id":
      return tensorsOut ? SAME : ANY;
    case "torch_dtype":
      return ANY;
    default:
      return SAME; // a key no loader reads
  }
}

/** Compares two config objects key by key. */
export function configExpect(clean: Record<string, unknown>, next: unknown, cmd: Command): Expect {
  if (typeof next !== "object" || next === null || Array.isArray(next))
    return cmd === "inspect" ? ANY : FAIL("config.json is not a JSON object");
  const n = next as Record<string, unknown>;
  const keys = new Set([...Object.keys(clean), ...Object.keys(n)]);
  const list: Expect[] = [];
  for (const k of keys) {
    const after: After = Object.hasOwn(n, k) ? n[k] : DELETED;
    const before = Object.hasOwn(clean, k) ? clean[k] : undefined;
    if (after !== DELETED && before !== undefined && sameValue(before, after)) continue;
    if (after === DELETED && before === undefined) continue;
    list.push(keyExpect(k, before, after, cmd, n));
  }
  return combine(list);
}

/** config.json text from [key, raw JSON text] pairs, laid out as the fixture's. */
const emit = (pairs: [string, string][]) =>
  `{\n${pairs.map(([k, v]) => `  ${JSON.stringify(k)}: ${v}`).join(",\n")}\n}\n`;

export interface CorruptConfig {
  /** The file's bytes (a string is written as UTF-8). */
  data: string | Buffer;
  /** The object a loader reads from it, or UNPARSEABLE. */
  meaning: unknown;
  detail: string;
}

export function corruptConfig(mut: ConfigMutation, clean: Clean): CorruptConfig {
  const pairs: [string, string][] = Object.entries(clean.config).map(([k, v]) => [k, JSON.stringify(v)]);
  const withPairs = (p: [string, string][], meaning: Record<string, unknown>, detail: string) => ({
    data: emit(p),
    meaning,
    detail,
  });
  const setPair = (p: [string, string][], key: string, raw: string) => {
    const i = p.findIndex(([k]) => k === key);
    if (i >= 0) p[i] = [key, raw];
    else p.push([key, raw]);
  };
  // The object a loader sees: built directly, so that "__proto__" stays an own key as JSON.parse keeps it.
  const meaningOf = (p: [string, string][], marker?: [string, unknown]) => {
    const o: Record<string, unknown> = {};
    for (const [k, raw] of p) {
      const v = marker && marker[0] === k ? marker[1] : jsonMeaning(raw);
      Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
    return o;
  };
  switch (mut.m) {
    case "set":
    case "add":
      setPair(pairs, mut.key, mut.value);
      return withPairs(pairs, meaningOf(pairs), `${mut.key} = ${mut.value}`);
    case "delete":
      return withPairs(
        pairs.filter(([k]) => k !== mut.key),
        meaningOf(pairs.filter(([k]) => k !== mut.key)),
        `${mut.key} deleted`,
      );
    case "duplicate": {
      // A second entry for the key at the end: JSON.parse and Python's json both keep the last.
      const last = pairs.map(([k, v]): [string, string] => [k, v]);
      setPair(last, mut.key, mut.value);
      return {
        data: emit([...pairs, [mut.key, mut.value]]),
        meaning: meaningOf(last),
        detail: `${mut.key} given twice, last ${mut.value}`,
      };
    }
    case "hidden-act":
      setPair(pairs, "hidden_act", JSON.stringify(mut.value));
      return withPairs(pairs, meaningOf(pairs), `hidden_act = ${JSON.stringify(mut.value)}`);
    case "rope-scaling": {
      const raw = `{"type": ${mut.type}${mut.factor === "absent" ? "" : `, "factor": ${mut.factor}`}}`;
      setPair(pairs, "rope_scaling", raw);
      const meaning: Record<string, unknown> = { type: jsonMeaning(mut.type) };
      if (mut.factor !== "absent") meaning.factor = jsonMeaning(mut.factor);
      return withPairs(pairs, meaningOf(pairs, ["rope_scaling", meaning]), `rope_scaling = ${raw}`);
    }
    case "layer-types":
      setPair(pairs, "layer_types", mut.value);
      return withPairs(pairs, meaningOf(pairs), `layer_types = ${mut.value}`);
    case "nest": {
      const raw = nested(mut.depth, "1", mut.obj);
      setPair(pairs, mut.key, raw);
      const marker = mut.obj ? { a: "nested" } : ["nested"];
      return withPairs(
        pairs,
        meaningOf(pairs, [mut.key, marker]),
        `${mut.key} = ${mut.depth} levels of nested ${mut.obj ? "objects" : "arrays"}`,
      );
    }
    case "truncate": {
      const len = mut.pos % clean.configText.length;
      const text = clean.configText.slice(0, len);
      return {
        data: text,
        meaning: parseOr(text),
        detail: `truncated to ${len} of ${clean.configText.length} characters`,
      };
    }
    case "bitflip": {
      const src = Buffer.from(clean.configText, "utf8");
      const pos = mut.pos % src.length;
      const b = flip(src, pos, mut.bit);
      const text = b.toString("utf8");
      return {
        data: b,
        meaning: parseOr(text),
        detail: `byte ${pos} bit ${mut.bit} flipped: ${JSON.stringify(src.subarray(Math.max(0, pos - 10), pos + 10).toString("latin1"))} -> ${JSON.stringify(b.subarray(Math.max(0, pos - 10), pos + 10).toString("latin1"))}`,
      };
    }
    case "root":
      return {
        data: mut.text,
        meaning: parseOr(mut.text),
        detail: `config.json is ${JSON.stringify(mut.text)}`,
      };
  }
}

export const UNPARSEABLE = Symbol("unparseable");
function parseOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return UNPARSEABLE;
  }
}

export function prepareConfig(c: ConfigCase, ws: Workspace, clean: Clean): Prepared {
  const r = corruptConfig(c.mut, clean);
  writeFileSync(join(ws.a, "config.json"), r.data);
  if (c.command === "merge") writeFileSync(ws.yaml, linearMergeYaml(ws));
  const expect =
    r.meaning === UNPARSEABLE
      ? c.command === "inspect"
        ? ANY
        : FAIL("config.json is not JSON")
      : configExpect(clean.config, r.meaning, c.command);
  return {
    ...modelCommand(c.command, ws),
    kind: `${c.mut.m}${"key" in c.mut ? `/${c.mut.key}` : ""}`,
    detail: r.detail,
    expect,
    writesOutput: c.command === "upscale" || c.command === "merge",
    finiteOutput: true,
  };
}
