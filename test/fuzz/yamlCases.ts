// Corrupted variants of mergekit YAML: merge configs (linear, slerp, ties, slices) run by `deepen
// merge`, and a passthrough recipe run by `deepen upscale --recipe`. Methods, parameters, model
// references, layer ranges, dtypes and chat templates set to prototype names, boundary numbers and
// wrong types; bad globs in filters; prototype keys; YAML tags, aliases, alias bombs and duplicate
// keys; huge mappings, lists and comments; deep nesting; truncations, bit flips, non-mapping roots.
// Expectations follow mergekit's reading of the file (its method registry, its parameter types,
// PyYAML's last-wins duplicate keys).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import fc from "fast-check";
import { parse as yamlParse, stringify as yamlStringify } from "yaml";
import {
  ANY,
  clip,
  type Expect,
  FAIL,
  flip,
  nested,
  type Prepared,
  PROTO_KEYS,
  SAME,
  type Workspace,
} from "./cases.js";

export type TemplateName = "linear" | "slerp" | "ties" | "slices" | "recipe";
export const MERGE_TEMPLATES: readonly TemplateName[] = ["linear", "slerp", "ties", "slices"];

export type YamlMutation =
  | { m: "param"; which: number; value: number }
  | { m: "method"; value: string }
  | { m: "model"; which: number; value: string }
  | { m: "range"; which: number; value: string }
  | { m: "dtype"; value: string }
  | { m: "chat-template"; value: string }
  | { m: "add-key"; at: "top" | "parameters" | "source"; key: string; value: string }
  | { m: "delete"; which: number }
  | { m: "filter"; glob: string }
  | { m: "tag"; which: "param" | "method" | "model"; tag: string }
  | { m: "alias" }
  | { m: "alias-bomb"; levels: number }
  | { m: "duplicate-key"; value: string }
  | { m: "huge"; what: "mapping" | "gradient" | "comment"; size: number }
  | { m: "nest"; at: "top" | "value"; depth: number; obj: boolean }
  | { m: "truncate"; pos: number }
  | { m: "bitflip"; pos: number; bit: number }
  | { m: "root"; text: string }
  | { m: "repeat"; count: number };

export interface YamlCase {
  target: "merge-yaml" | "recipe";
  template: TemplateName;
  mut: YamlMutation;
}

type Path = (string | number)[];

interface Template {
  method: string;
  doc: (ws: Workspace) => Record<string, unknown>;
  /** Numeric parameters, with their value when absent from the doc (a recipe's scale is 1). */
  params: { path: Path; original: number }[];
  models: Path[];
  ranges: Path[];
  /** Where filters, gradients and nesting go. */
  main: { path: Path; original: number };
  /** Two places holding the same value: an anchor on one and an alias on the other change nothing. */
  alias: [Path, Path];
  source: Path;
  parameters: Path;
  /** The list repeated by "repeat". */
  list: Path;
  /** Keys that can be deleted, and whether the file means nothing without them. */
  deletable: { path: Path; essential: boolean }[];
}

const TEMPLATES: Record<TemplateName, Template> = {
  linear: {
    method: "linear",
    doc: (ws) => ({
      models: [
        { model: ws.a, parameters: { weight: 0.5 } },
        { model: ws.b, parameters: { weight: 0.5 } },
      ],
      merge_method: "linear",
    }),
    params: [
      { path: ["models", 0, "parameters", "weight"], original: 0.5 },
      { path: ["models", 1, "parameters", "weight"], original: 0.5 },
    ],
    models: [
      ["models", 0, "model"],
      ["models", 1, "model"],
    ],
    ranges: [],
    main: { path: ["models", 0, "parameters", "weight"], original: 0.5 },
    alias: [
      ["models", 0, "parameters", "weight"],
      ["models", 1, "parameters", "weight"],
    ],
    source: ["models", 0],
    parameters: ["parameters"],
    list: ["models"],
    deletable: [
      { path: ["merge_method"], essential: true },
      { path: ["models"], essential: true },
      { path: ["models", 0, "model"], essential: true },
      { path: ["models", 1, "parameters", "weight"], essential: false },
      { path: ["models", 0, "parameters"], essential: false },
    ],
  },
  slerp: {
    method: "slerp",
    doc: (ws) => ({
      models: [{ model: ws.a }, { model: ws.b }],
      base_model: ws.a,
      merge_method: "slerp",
      parameters: { t: 0.5 },
    }),
    params: [{ path: ["parameters", "t"], original: 0.5 }],
    models: [["models", 0, "model"], ["models", 1, "model"], ["base_model"]],
    ranges: [],
    main: { path: ["parameters", "t"], original: 0.5 },
    alias: [["base_model"], ["models", 0, "model"]],
    source: ["models", 1],
    parameters: ["parameters"],
    list: ["models"],
    deletable: [
      { path: ["merge_method"], essential: true },
      { path: ["models"], essential: true },
      { path: ["base_model"], essential: true }, // mergekit: "Slerp merge requires a base model"
      { path: ["parameters"], essential: true }, // t is required
      { path: ["models", 1, "model"], essential: true },
    ],
  },
  ties: {
    method: "ties",
    doc: (ws) => ({
      models: [{ model: ws.a }, { model: ws.b, parameters: { weight: 1.0, density: 0.5 } }],
      base_model: ws.a,
      merge_method: "ties",
      parameters: { normalize: true },
    }),
    params: [
      { path: ["models", 1, "parameters", "weight"], original: 1 },
      { path: ["models", 1, "parameters", "density"], original: 0.5 },
    ],
    models: [["models", 0, "model"], ["models", 1, "model"], ["base_model"]],
    ranges: [],
    main: { path: ["models", 1, "parameters", "weight"], original: 1 },
    alias: [["base_model"], ["models", 0, "model"]],
    source: ["models", 1],
    parameters: ["parameters"],
    list: ["models"],
    deletable: [
      { path: ["merge_method"], essential: true },
      { path: ["models"], essential: true },
      { path: ["models", 1, "model"], essential: true },
      { path: ["parameters"], essential: false },
      { path: ["models", 1, "parameters", "density"], essential: false },
    ],
  },
  slices: {
    method: "linear",
    doc: (ws) => ({
      slices: [
        {
          sources: [
            { model: ws.a, layer_range: [0, 2] },
            { model: ws.b, layer_range: [0, 2] },
          ],
        },
      ],
      merge_method: "linear",
      parameters: { weight: 0.5 },
    }),
    params: [{ path: ["parameters", "weight"], original: 0.5 }],
    models: [
      ["slices", 0, "sources", 0, "model"],
      ["slices", 0, "sources", 1, "model"],
    ],
    ranges: [
      ["slices", 0, "sources", 0, "layer_range"],
      ["slices", 0, "sources", 1, "layer_range"],
    ],
    main: { path: ["parameters", "weight"], original: 0.5 },
    alias: [
      ["slices", 0, "sources", 0, "layer_range"],
      ["slices", 0, "sources", 1, "layer_range"],
    ],
    source: ["slices", 0, "sources", 0],
    parameters: ["parameters"],
    list: ["slices"],
    deletable: [
      { path: ["merge_method"], essential: true },
      { path: ["slices"], essential: true },
      { path: ["slices", 0, "sources"], essential: true },
      { path: ["slices", 0, "sources", 0, "layer_range"], essential: true },
      { path: ["slices", 0, "sources", 1, "model"], essential: true },
      { path: ["parameters"], essential: false },
    ],
  },
  recipe: {
    method: "passthrough",
    doc: (ws) => ({
      slices: [
        { sources: [{ model: ws.a, layer_range: [0, 2] }] },
        { sources: [{ model: ws.a, layer_range: [1, 2] }] },
      ],
      merge_method: "passthrough",
    }),
    params: [{ path: ["slices", 0, "sources", 0, "parameters", "scale"], original: 1 }],
    models: [
      ["slices", 0, "sources", 0, "model"],
      ["slices", 1, "sources", 0, "model"],
    ],
    ranges: [
      ["slices", 0, "sources", 0, "layer_range"],
      ["slices", 1, "sources", 0, "layer_range"],
    ],
    main: { path: ["slices", 0, "sources", 0, "parameters", "scale"], original: 1 },
    alias: [
      ["slices", 0, "sources", 0, "model"],
      ["slices", 1, "sources", 0, "model"],
    ],
    source: ["slices", 0, "sources", 0],
    parameters: ["parameters"],
    list: ["slices"],
    deletable: [
      { path: ["merge_method"], essential: true },
      { path: ["slices"], essential: true },
      { path: ["slices", 1, "sources"], essential: true },
      { path: ["slices", 0, "sources", 0, "layer_range"], essential: true },
      { path: ["slices", 1, "sources", 0, "model"], essential: true },
    ],
  },
};

/** YAML parameter values, and what mergekit makes of them: a number; a form it coerces or handles
 * (a numeric string, a bool, null, a gradient, {filter, value}); or something it refuses. */
const PARAM_VALUES: [string, "num" | "lenient" | "bad"][] = [
  ["0", "num"],
  ["-1", "num"],
  ["1", "num"],
  ["0.5", "num"],
  ["2", "num"],
  ["1e308", "num"],
  ["-1e308", "num"],
  ["1.0e-308", "num"],
  ["5e-324", "num"],
  ["1e9", "num"],
  ["9007199254740993", "num"],
  [".nan", "num"],
  [".inf", "num"],
  ["-.inf", "num"],
  ['"0.5"', "lenient"],
  ["true", "lenient"],
  ["false", "lenient"],
  ["null", "lenient"],
  ["[0.25, 0.75]", "lenient"],
  ["[1e308, 1e308]", "lenient"],
  ["{value: 0.5}", "lenient"],
  ['[{filter: "[", value: 1.0}, {value: 0.5}]', "lenient"],
  ['"abc"', "bad"],
  ['""', "bad"],
  ["constructor", "bad"],
  ["__proto__", "bad"],
  ["toString", "bad"],
  ["[]", "bad"],
  ["{}", "bad"],
  ["[[0.5]]", "bad"],
  ["{a: 1}", "bad"],
];
const VALID_METHODS = [
  "linear",
  "slerp",
  "nuslerp",
  "task_arithmetic",
  "ties",
  "dare_ties",
  "dare_linear",
  "breadcrumbs",
  "breadcrumbs_ties",
  "della",
  "della_linear",
  "model_stock",
  "karcher",
  "passthrough",
];
const BAD_METHODS = [...PROTO_KEYS, "__defineGetter__", "LINEAR", "fuzz", '""', "1", "null", "[]", "{}"];
const MODEL_VALUES = [
  "/nonexistent/fuzz-model",
  ...PROTO_KEYS.slice(0, 4),
  '""',
  "1",
  "null",
  "[]",
  "{}",
  "LONG",
  "SLASH",
  "OTHER",
  "LORA",
  "PARENT",
  "TEXT",
];
const RANGES = [
  "[0, 2]",
  "[0, 2.0]",
  "[0, 1]",
  "[1, 2]",
  "[0, 3]",
  "[0, 1000000000]",
  "[-1, 2]",
  "[2, 0]",
  "[1, 1]",
  "[0.5, 2]",
  "['0', '2']",
  "[0, 2, 4]",
  "[0]",
  "null",
  "'0-2'",
  "{}",
  "[0, .inf]",
  "[0, 9007199254740993]",
];
const DTYPE_VALUES: [string, "same" | "any" | "bad"][] = [
  ["float32", "same"],
  ["fp32", "same"],
  ["float16", "any"],
  ["bfloat16", "any"],
  ["bf16", "any"],
  ["float64", "any"],
  ["int8", "any"],
  ["null", "any"],
  ...[...PROTO_KEYS, "fuzz", '""', "1", "[]", "{}"].map((v): [string, "bad"] => [v, "bad"]),
];
const CHAT_TEMPLATES = ["chatml", "auto", "null", "'{{ messages }}'", ...PROTO_KEYS.slice(0, 4), "1", "[]"];
const GLOBS = [
  "[",
  "[a-",
  "\\",
  "(",
  ")",
  "*[",
  "[]",
  "[!]",
  "{a,b}",
  "**",
  "?",
  "a|b",
  "^",
  "$",
  "self_attn",
  "*",
  "+",
  ".*",
  "[z-a]",
  "\\d",
];
const TAGS = [
  "!foo",
  "!!python/object:__main__.X",
  "!!python/name:os.system",
  "!!binary",
  "!!set",
  "!!omap",
  "!!timestamp",
  "!!str",
  "!!float",
  "!!int",
  "!<tag:yaml.org,2002:str>",
  "!!map",
  "!!seq",
];

export const yamlMutation: fc.Arbitrary<YamlMutation> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      m: fc.constant("param"),
      which: fc.nat(),
      value: fc.nat({ max: PARAM_VALUES.length - 1 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      m: fc.constant("method"),
      value: fc.constantFrom(...VALID_METHODS, ...BAD_METHODS),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      m: fc.constant("model"),
      which: fc.nat(),
      value: fc.constantFrom(...MODEL_VALUES),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ m: fc.constant("range"), which: fc.nat(), value: fc.constantFrom(...RANGES) }),
  },
  fc.record({ m: fc.constant("dtype"), value: fc.constantFrom(...DTYPE_VALUES.map(([v]) => v)) }),
  fc.record({ m: fc.constant("chat-template"), value: fc.constantFrom(...CHAT_TEMPLATES) }),
  {
    weight: 2,
    arbitrary: fc.record({
      m: fc.constant("add-key"),
      at: fc.constantFrom("top", "parameters", "source"),
      key: fc.constantFrom(...PROTO_KEYS, "fuzz_key"),
      value: fc.constantFrom(
        "1",
        "{weight: 1.0}",
        "linear",
        "null",
        "{t: 1.0, weight: 1.0, density: 1.0, scale: 1.0}",
      ),
    }),
  },
  fc.record({ m: fc.constant("delete"), which: fc.nat() }),
  { weight: 2, arbitrary: fc.record({ m: fc.constant("filter"), glob: fc.constantFrom(...GLOBS) }) },
  fc.record({
    m: fc.constant("tag"),
    which: fc.constantFrom("param", "method", "model"),
    tag: fc.constantFrom(...TAGS),
  }),
  fc.record({ m: fc.constant("alias") }),
  fc.record({ m: fc.constant("alias-bomb"), levels: fc.constantFrom(3, 6, 9) }),
  fc.record({
    m: fc.constant("duplicate-key"),
    value: fc.constantFrom("SAME", "linear", "slerp", "passthrough", "constructor"),
  }),
  fc.record({
    m: fc.constant("huge"),
    what: fc.constantFrom("mapping", "gradient", "comment"),
    size: fc.constantFrom(1000, 50_000, 200_000),
  }),
  fc.record({
    m: fc.constant("nest"),
    at: fc.constantFrom("top", "value"),
    depth: fc.constantFrom(1, 2, 100, 1000, 10_000, 100_000),
    obj: fc.boolean(),
  }),
  fc.record({ m: fc.constant("truncate"), pos: fc.nat() }),
  fc.record({ m: fc.constant("bitflip"), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    m: fc.constant("root"),
    text: fc.constantFrom(
      "",
      "null",
      "[]",
      "- a",
      "42",
      "'str'",
      "~",
      "---\n...\n",
      "a: [",
      "\t",
      "!!binary 0",
    ),
  }),
  fc.record({ m: fc.constant("repeat"), count: fc.constantFrom(0, 3, 30, 200) }),
) as fc.Arbitrary<YamlMutation>;

export const mergeYamlCase: fc.Arbitrary<YamlCase> = fc.record({
  target: fc.constant("merge-yaml" as const),
  template: fc.constantFrom(...MERGE_TEMPLATES),
  mut: yamlMutation,
});
export const recipeCase: fc.Arbitrary<YamlCase> = fc.record({
  target: fc.constant("recipe" as const),
  template: fc.constant("recipe" as const),
  mut: yamlMutation,
});

function getPath(doc: unknown, path: Path): unknown {
  let o = doc;
  for (const k of path) o = (o as Record<string | number, unknown> | undefined)?.[k];
  return o;
}
function setPath(doc: Record<string, unknown>, path: Path, value: unknown): void {
  let o: Record<string | number, unknown> = doc;
  for (const k of path.slice(0, -1)) {
    if (typeof o[k] !== "object" || o[k] === null) o[k] = {};
    o = o[k] as Record<string | number, unknown>;
  }
  o[path[path.length - 1]!] = value;
}
function deletePath(doc: Record<string, unknown>, path: Path): void {
  const parent = getPath(doc, path.slice(0, -1)) as Record<string | number, unknown>;
  delete parent[path[path.length - 1]!];
}
const showPath = (p: Path) =>
  p
    .map((k) => (typeof k === "number" ? `[${k}]` : `.${k}`))
    .join("")
    .slice(1);

/** A valid layer range of a 2-layer model: two integers, 0 <= start < end <= 2. */
function rangeOk(v: unknown, layers: number): v is [number, number] {
  return (
    Array.isArray(v) &&
    v.length === 2 &&
    v.every((x) => Number.isSafeInteger(x) && x >= 0) &&
    (v[0] as number) < (v[1] as number) &&
    (v[1] as number) <= layers
  );
}

export function prepareYaml(c: YamlCase, ws: Workspace, layers: number): Prepared {
  const t = TEMPLATES[c.template];
  const recipe = c.target === "recipe";
  const doc = t.doc(ws);
  const raws = new Map<string, string>();
  let n = 0;
  /** Puts raw YAML text at `path` (a placeholder scalar replaced after stringifying). */
  const raw = (path: Path, text: string) => {
    const ph = `FUZZRAW${n++}`;
    setPath(doc, path, ph);
    raws.set(ph, text);
  };
  const methodExpect = (v: unknown): Expect => {
    if (v === t.method) return SAME;
    if (recipe) return FAIL(`merge_method ${JSON.stringify(v)} in a passthrough recipe`);
    return typeof v === "string" && VALID_METHODS.includes(v)
      ? ANY
      : FAIL(`merge_method ${JSON.stringify(v)} is not a mergekit method`);
  };
  let expect: Expect = ANY;
  let detail: string;
  let check: ((out: string) => string | undefined) | undefined;
  let text: string | Buffer | undefined;
  const m = c.mut;
  switch (m.m) {
    case "param": {
      const p = t.params[m.which % t.params.length]!;
      const [value, cls] = PARAM_VALUES[m.value]!;
      raw(p.path, value);
      detail = `${showPath(p.path)} = ${value}`;
      expect =
        cls === "bad"
          ? FAIL(`${showPath(p.path)} = ${value}: not a number`)
          : cls === "num" && yamlParse(value) === p.original
            ? SAME
            : ANY;
      break;
    }
    case "method":
      raw(["merge_method"], m.value);
      detail = `merge_method = ${m.value}`;
      expect = methodExpect(yamlParse(m.value));
      break;
    case "model": {
      const p = t.models[m.which % t.models.length]!;
      const orig = getPath(doc, p) as string;
      const other = orig === ws.a ? ws.b : ws.a;
      const special: Record<string, [string, Expect]> = {
        LONG: [JSON.stringify({ model: { path: orig } }), SAME],
        SLASH: [JSON.stringify(`${orig}/`), SAME],
        OTHER: [JSON.stringify(other), ANY],
        LORA: [JSON.stringify(`${orig}+${other}`), FAIL("a LoRA reference to a model folder")],
        PARENT: [JSON.stringify(dirname(orig)), FAIL("a folder that is not a model")],
        TEXT: [JSON.stringify(ws.text), FAIL("a text file for a model")],
      };
      const [value, e] = Object.hasOwn(special, m.value)
        ? special[m.value]!
        : [m.value, FAIL(`model ${m.value} does not exist`)];
      raw(p, value);
      detail = `${showPath(p)} = ${m.value === "LONG" ? "{model: {path}} (long form)" : clip(value, 80)}`;
      expect = e;
      break;
    }
    case "range": {
      if (t.ranges.length === 0) {
        // The models form has no layer_range; give the first model one (mergekit takes it only in slices).
        raw([...t.source, "layer_range"], m.value);
        detail = `${showPath(t.source)}.layer_range = ${m.value} (models form)`;
        expect = ANY;
        break;
      }
      const p = t.ranges[m.which % t.ranges.length]!;
      const orig = getPath(doc, p);
      raw(p, m.value);
      const v: unknown = yamlParse(m.value);
      detail = `${showPath(p)} = ${m.value}`;
      if (!rangeOk(v, layers))
        expect = FAIL(`layer_range ${m.value} is not [start, end) within ${layers} layers`);
      else if (JSON.stringify(v) === JSON.stringify(orig)) expect = SAME;
      else if (!recipe)
        expect = FAIL(`layer_range ${m.value} spans ${v[1] - v[0]} layers, the other source 2`);
      else expect = ANY;
      break;
    }
    case "dtype": {
      const [value, cls] = DTYPE_VALUES.find(([v]) => v === m.value)!;
      raw(["dtype"], value);
      detail = `dtype = ${value}`;
      expect = cls === "same" ? SAME : cls === "any" ? ANY : FAIL(`dtype ${value} is not a dtype`);
      break;
    }
    case "chat-template": {
      if (recipe) {
        raw(["dtype"], "float32");
        detail = "dtype = float32 (recipe: no chat_template)";
        expect = SAME;
        break;
      }
      raw(["chat_template"], m.value);
      const v: unknown = yamlParse(m.value);
      detail = `chat_template = ${m.value}`;
      if (v === null || v === "auto") expect = SAME;
      else if (typeof v !== "string") expect = FAIL("chat_template is not a string");
      else {
        // A built-in name, or else a Jinja template taken literally (mergekit), never a prototype member.
        expect = SAME;
        check = (out) => {
          const f = join(out, "tokenizer_config.json");
          if (!existsSync(f)) return "no tokenizer_config.json in the output";
          const got = (JSON.parse(readFileSync(f, "utf8")) as { chat_template?: unknown }).chat_template;
          if (v === "chatml")
            return typeof got === "string" && got.includes("<|im_start|>")
              ? undefined
              : `chat_template is ${clip(JSON.stringify(got) ?? "undefined", 60)}, not ChatML`;
          return got === v
            ? undefined
            : `chat_template ${JSON.stringify(v)} written as ${clip(JSON.stringify(got) ?? "undefined", 60)}`;
        };
      }
      break;
    }
    case "add-key": {
      const at = m.at === "top" ? [] : m.at === "parameters" ? t.parameters : t.source;
      raw([...at, "FUZZKEY"], m.value);
      raws.set("FUZZKEY", m.key);
      detail = `${m.at === "top" ? "top-level" : showPath(at)} key ${m.key}: ${m.value}`;
      expect = SAME;
      break;
    }
    case "delete": {
      const d = t.deletable[m.which % t.deletable.length]!;
      deletePath(doc, d.path);
      detail = `${showPath(d.path)} deleted`;
      expect = d.essential ? FAIL(`${showPath(d.path)} is required`) : ANY;
      break;
    }
    case "filter": {
      const value = `[{filter: ${JSON.stringify(m.glob)}, value: 0.75}, {value: ${t.main.original}}]`;
      raw(t.main.path, value);
      detail = `${showPath(t.main.path)} = ${value}`;
      expect = ANY;
      break;
    }
    case "tag": {
      const p = m.which === "param" ? t.main.path : m.which === "method" ? ["merge_method"] : t.models[0]!;
      const orig = getPath(doc, p) ?? t.main.original;
      raw(p, `${m.tag} ${typeof orig === "string" ? orig : JSON.stringify(orig)}`);
      detail = `${showPath(p)} tagged ${m.tag}`;
      expect = ANY;
      break;
    }
    case "alias": {
      const [p1, p2] = t.alias;
      raw(p1, `&fuzz ${JSON.stringify(getPath(doc, p1))}`);
      raw(p2, "*fuzz");
      detail = `${showPath(p2)} is an alias of ${showPath(p1)} (same value)`;
      expect = SAME;
      break;
    }
    case "alias-bomb": {
      const levels = [`a0: &a0 [${Array(10).fill("x").join(", ")}]`];
      for (let i = 1; i < m.levels; i++)
        levels.push(
          `a${i}: &a${i} [${Array(10)
            .fill(`*a${i - 1}`)
            .join(", ")}]`,
        );
      raw(["fuzz_bomb"], `{${levels.join(", ")}}`);
      detail = `unknown key fuzz_bomb: ${m.levels} levels of aliases, 10 each (10^${m.levels} nodes expanded)`;
      expect = SAME;
      break;
    }
    case "duplicate-key": {
      const v = m.value === "SAME" ? t.method : m.value;
      detail = `merge_method given twice, last ${v}`;
      expect = methodExpect(v);
      text = `${yamlStringify(doc, { lineWidth: 0 })}merge_method: ${v}\n`;
      break;
    }
    case "huge": {
      if (m.what === "mapping") {
        const keys = Array.from({ length: m.size }, (_, i) => `k${i}: 0`).join(", ");
        raw(["fuzz_huge"], `{${keys}}`);
        detail = `unknown key fuzz_huge: a mapping of ${m.size} keys`;
        expect = SAME;
      } else if (m.what === "gradient") {
        raw(t.main.path, `[${Array(m.size).fill(t.main.original).join(", ")}]`);
        detail = `${showPath(t.main.path)} = a gradient of ${m.size} equal points (${t.main.original})`;
        expect = SAME;
      } else {
        text = `#${"x".repeat(m.size * 25)}\n${yamlStringify(doc, { lineWidth: 0 })}`;
        detail = `a ${m.size * 25}-character comment line first`;
        expect = SAME;
      }
      break;
    }
    case "nest": {
      const deep = nested(m.depth, "1", m.obj);
      const what = `${m.depth} levels of nested ${m.obj ? "mappings" : "lists"}`;
      if (m.at === "top") {
        raw(["fuzz_nested"], deep);
        detail = `unknown key fuzz_nested: ${what}`;
        expect = SAME;
      } else {
        raw(t.main.path, deep);
        detail = `${showPath(t.main.path)} = ${what}`;
        expect = m.depth === 1 && !m.obj ? ANY : FAIL(`${showPath(t.main.path)} is ${what}`);
      }
      break;
    }
    case "truncate":
    case "bitflip": {
      const src = Buffer.from(yamlStringify(doc, { lineWidth: 0 }), "utf8");
      const pos = m.pos % src.length;
      if (m.m === "truncate") {
        text = src.subarray(0, pos);
        detail = `truncated to ${pos} of ${src.length} bytes`;
      } else {
        text = flip(src, pos, m.bit);
        detail = `byte ${pos} bit ${m.bit} flipped: ${JSON.stringify(src.subarray(Math.max(0, pos - 10), pos + 10).toString("latin1"))} -> ${JSON.stringify(text.subarray(Math.max(0, pos - 10), pos + 10).toString("latin1"))}`;
      }
      expect = ANY;
      break;
    }
    case "root":
      text = m.text;
      detail = `the file is ${JSON.stringify(m.text)}`;
      expect = FAIL("not a YAML mapping");
      break;
    case "repeat": {
      const list = getPath(doc, t.list) as unknown[];
      const copies = Array.from({ length: m.count }, (_, i) =>
        structuredClone(list[Math.min(i, list.length - 1)]),
      );
      setPath(doc, t.list, copies);
      detail = `${showPath(t.list)} with ${m.count} entries`;
      expect = m.count === 0 ? FAIL(`${showPath(t.list)} is empty`) : ANY;
      break;
    }
  }
  if (text === undefined) {
    let s = yamlStringify(doc, { lineWidth: 0 });
    // Longest placeholders first, so FUZZRAW1 never replaces the start of FUZZRAW10.
    for (const [ph, value] of [...raws].sort((a, b) => b[0].length - a[0].length))
      s = s.split(ph).join(value);
    text = s;
  }
  writeFileSync(ws.yaml, text);
  return {
    args: recipe
      ? ["upscale", "--recipe", ws.yaml, "-o", ws.out, "--json"]
      : ["merge", ws.yaml, "-o", ws.out, "--json"],
    baseline: recipe ? "recipe" : `merge:${c.template}`,
    kind: `${m.m}${"what" in m ? `/${m.what}` : ""}${"at" in m ? `/${m.at}` : ""}`,
    detail,
    expect,
    writesOutput: true,
    finiteOutput: true,
    check,
  };
}

/** The clean config or recipe of a template, for the baseline runs. */
export function cleanYaml(template: TemplateName, ws: Workspace): { text: string; args: string[] } {
  const text = yamlStringify(TEMPLATES[template].doc(ws), { lineWidth: 0 });
  const args =
    template === "recipe"
      ? ["upscale", "--recipe", ws.yaml, "-o", ws.out, "--json"]
      : ["merge", ws.yaml, "-o", ws.out, "--json"];
  return { text, args };
}
