// Corrupted variants of model A's model.safetensors: truncations, appended bytes, header length
// off by a little or a lot, bit flips in the length, header and data, changed shapes, dtypes and
// offsets, duplicate and deleted tensors, prototype names, deep nesting and harmless re-encodings.
// Whether a variant must be refused is decided by the reference rules (safetensorsOracle.ts),
// whether its tensors still are the architecture's by comparison with the clean file.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import {
  ANY,
  type Clean,
  clip,
  type Command,
  type Expect,
  FAIL,
  flip,
  linearMergeYaml,
  MODEL_COMMANDS,
  modelCommand,
  nested,
  type Prepared,
  SAME,
  type Workspace,
} from "./cases.js";
import {
  assembleSafetensors,
  firstNonFinite,
  type OracleResult,
  type OracleTensor,
  validateSafetensors,
} from "./safetensorsOracle.js";

export type SafetensorsMutation =
  | { m: "truncate"; zone: "length" | "header" | "data"; pos: number }
  | { m: "append"; bytes: number }
  | { m: "header-length"; delta: number }
  | { m: "header-length-set"; value: string }
  | { m: "length-bitflip"; byte: number; bit: number }
  | { m: "header-bitflip"; pos: number; bit: number }
  | { m: "data-bitflip"; pos: number; bit: number }
  | { m: "shape"; tensor: number; how: string; dim: number; value: string }
  | { m: "dtype"; tensor: number; value: string }
  | { m: "offsets"; tensor: number; how: string; k: number; value: string }
  | {
      m: "duplicate";
      tensor: number;
      how: "identical" | "other-span" | "into-gap" | "other-shape" | "metadata";
    }
  | { m: "delete"; tensor: number; keepData: boolean }
  | {
      m: "nest";
      where: "metadata" | "dtype" | "shape" | "offsets" | "extra" | "root";
      depth: number;
      obj: boolean;
    }
  | { m: "reformat"; how: "pretty" | "reverse" | "no-metadata" | "more-metadata" | "padding" | "extra-field" }
  | { m: "not-object"; json: string }
  | { m: "proto-name"; tensor: number; name: string; rename: boolean }
  | { m: "empty" };

export interface SafetensorsCase {
  target: "safetensors";
  command: Command;
  mut: SafetensorsMutation;
}

const DIM_VALUES = [
  "0",
  "1",
  "-1",
  "1.5",
  "1e2",
  "64.0",
  "2147483648",
  "4294967296",
  "9007199254740991",
  "9007199254740993",
  "18446744073709551616",
  '"64"',
  "null",
];
const DTYPES = [
  "F16",
  "BF16",
  "F64",
  "I8",
  "U8",
  "I64",
  "BOOL",
  "F8_E4M3",
  "I32",
  "U32",
  "F33",
  "f32",
  "",
  "constructor",
  "__proto__",
  "toString",
];
const OFFSET_VALUES = [
  "[0, 0]",
  "[-1, 4]",
  "[0.5, 4]",
  "[0, 9007199254740993]",
  "[0, 18446744073709551615]",
  '["0", "4"]',
  "[0]",
  "[0, 4, 8]",
  "null",
  "{}",
];
const LENGTHS = [
  "0",
  "1",
  "2",
  "7",
  "2147483648",
  "4294967296",
  "9007199254740993",
  "100000001",
  "9223372036854775808",
  "18446744073709551615",
];

export const safetensorsMutation: fc.Arbitrary<SafetensorsMutation> = fc.oneof(
  fc.record({ m: fc.constant("truncate"), zone: fc.constantFrom("length", "header", "data"), pos: fc.nat() }),
  fc.record({ m: fc.constant("append"), bytes: fc.constantFrom(1, 7, 8, 4096) }),
  fc.record({
    m: fc.constant("header-length"),
    delta: fc.oneof(fc.integer({ min: -8, max: -1 }), fc.integer({ min: 1, max: 8 })),
  }),
  fc.record({ m: fc.constant("header-length-set"), value: fc.constantFrom(...LENGTHS) }),
  fc.record({
    m: fc.constant("length-bitflip"),
    byte: fc.integer({ min: 0, max: 7 }),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({ m: fc.constant("header-bitflip"), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ m: fc.constant("data-bitflip"), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    m: fc.constant("shape"),
    tensor: fc.nat(),
    how: fc.constantFrom(
      "append0",
      "append1",
      "prepend1",
      "swap",
      "drop-dim",
      "scalar",
      "set",
      "rank17",
      "flatten",
      "type",
    ),
    dim: fc.nat(),
    value: fc.constantFrom(...DIM_VALUES, '"[64]"', "{}", "[[64]]"),
  }),
  fc.record({
    m: fc.constant("dtype"),
    tensor: fc.nat(),
    value: fc.constantFrom(...DTYPES.map((d) => JSON.stringify(d)), "32", "null", "{}", '["F32"]'),
  }),
  fc.record({
    m: fc.constant("offsets"),
    tensor: fc.nat(),
    how: fc.constantFrom("begin", "end", "shift", "swap", "reverse", "set"),
    k: fc.oneof(fc.integer({ min: -8, max: -1 }), fc.integer({ min: 1, max: 8 })),
    value: fc.constantFrom(...OFFSET_VALUES),
  }),
  fc.record({
    m: fc.constant("duplicate"),
    tensor: fc.nat(),
    how: fc.constantFrom("identical", "other-span", "into-gap", "other-shape", "metadata"),
  }),
  fc.record({ m: fc.constant("delete"), tensor: fc.nat(), keepData: fc.boolean() }),
  fc.record({
    m: fc.constant("nest"),
    where: fc.constantFrom("metadata", "dtype", "shape", "offsets", "extra", "root"),
    depth: fc.constantFrom(1, 2, 127, 129, 10_000, 100_000),
    obj: fc.boolean(),
  }),
  fc.record({
    m: fc.constant("reformat"),
    how: fc.constantFrom("pretty", "reverse", "no-metadata", "more-metadata", "padding", "extra-field"),
  }),
  fc.record({
    m: fc.constant("not-object"),
    json: fc.constantFrom("[]", "null", "1", '"x"', "", "{", "[{}]"),
  }),
  fc.record({
    m: fc.constant("proto-name"),
    tensor: fc.nat(),
    name: fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", "__metadata__x"),
    rename: fc.boolean(),
  }),
  fc.record({ m: fc.constant("empty") }),
) as fc.Arbitrary<SafetensorsMutation>;

export const safetensorsCase: fc.Arbitrary<SafetensorsCase> = fc.record({
  target: fc.constant("safetensors" as const),
  command: fc.constantFrom(...MODEL_COMMANDS),
  mut: safetensorsMutation,
});

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** The clean file's tensors in header order, with offsets relative to the data section. */
function entriesOf(clean: Clean): { entries: Entry[]; data: Buffer } {
  const n = Number(clean.safetensors.readBigUInt64LE(0));
  const header = JSON.parse(clean.safetensors.subarray(8, 8 + n).toString("utf8")) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const entries = Object.entries(header)
    .filter(([k]) => k !== "__metadata__")
    .map(([name, v]) => ({
      name,
      dtype: v.dtype,
      shape: v.shape,
      begin: v.data_offsets[0],
      end: v.data_offsets[1],
    }));
  return { entries, data: clean.safetensors.subarray(8 + n) };
}

interface EntryText {
  dtype?: string;
  shape?: string;
  offsets?: string;
  extra?: string;
}
const entryJson = (e: Entry, o: EntryText = {}) =>
  `{"dtype":${o.dtype ?? JSON.stringify(e.dtype)},"shape":${o.shape ?? JSON.stringify(e.shape)},"data_offsets":${o.offsets ?? `[${e.begin},${e.end}]`}${o.extra ?? ""}}`;
const headerOf = (parts: [string, string][]) =>
  `{${parts.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`;
const METADATA: [string, string] = ["__metadata__", '{"format":"pt"}'];

/** The corrupted file and a description of what was done. */
export function corruptSafetensors(mut: SafetensorsMutation, clean: Clean): { file: Buffer; detail: string } {
  const buf = clean.safetensors;
  const n = Number(buf.readBigUInt64LE(0));
  const { entries, data } = entriesOf(clean);
  const count = entries.length;
  const parts = (over: Map<number, EntryText> = new Map()): [string, string][] => [
    METADATA,
    ...entries.map((e, i): [string, string] => [e.name, entryJson(e, over.get(i))]),
  ];
  const rebuilt = (p: [string, string][], d: Buffer = data) => assembleSafetensors(headerOf(p), d);
  switch (mut.m) {
    case "truncate": {
      const len =
        mut.zone === "length"
          ? mut.pos % 8
          : mut.zone === "header"
            ? 8 + (mut.pos % n)
            : 8 + n + (mut.pos % data.length);
      return {
        file: buf.subarray(0, len),
        detail: `truncated to ${len} of ${buf.length} bytes (${mut.zone})`,
      };
    }
    case "append":
      return {
        file: Buffer.concat([buf, Buffer.alloc(mut.bytes)]),
        detail: `${mut.bytes} zero bytes appended`,
      };
    case "header-length": {
      const f = Buffer.from(buf);
      f.writeBigUInt64LE(BigInt(n + mut.delta));
      return {
        file: f,
        detail: `header length ${n} -> ${n + mut.delta} (${mut.delta > 0 ? "+" : ""}${mut.delta})`,
      };
    }
    case "header-length-set": {
      const f = Buffer.from(buf);
      f.writeBigUInt64LE(BigInt(mut.value));
      return { file: f, detail: `header length ${n} -> ${mut.value}` };
    }
    case "length-bitflip":
      return {
        file: flip(buf, mut.byte, mut.bit),
        detail: `bit ${mut.bit} of header-length byte ${mut.byte} flipped (-> ${flip(buf, mut.byte, mut.bit).readBigUInt64LE(0)})`,
      };
    case "header-bitflip": {
      const pos = 8 + (mut.pos % n);
      const f = flip(buf, pos, mut.bit);
      return {
        file: f,
        detail: `header byte ${pos} bit ${mut.bit} flipped: ${JSON.stringify(buf.subarray(Math.max(8, pos - 12), pos + 12).toString("latin1"))} -> ${JSON.stringify(f.subarray(Math.max(8, pos - 12), pos + 12).toString("latin1"))}`,
      };
    }
    case "data-bitflip": {
      const pos = 8 + n + (mut.pos % data.length);
      const owner = entries.find((e) => pos - 8 - n >= e.begin && pos - 8 - n < e.end)?.name;
      return {
        file: flip(buf, pos, mut.bit),
        detail: `data byte ${pos} (in ${owner}) bit ${mut.bit} flipped`,
      };
    }
    case "shape": {
      const t = mut.tensor % count;
      const e = entries[t]!;
      const s = e.shape;
      let text: string;
      switch (mut.how) {
        case "append0":
          text = JSON.stringify([...s, 0]);
          break;
        case "append1":
          text = JSON.stringify([...s, 1]);
          break;
        case "prepend1":
          text = JSON.stringify([1, ...s]);
          break;
        case "swap":
          text = JSON.stringify([...s].reverse());
          break;
        case "drop-dim":
          text = JSON.stringify(s.slice(1));
          break;
        case "scalar":
          text = "[]";
          break;
        case "rank17":
          text = JSON.stringify([...s, ...Array<number>(17 - s.length).fill(1)]);
          break;
        case "flatten":
          text = JSON.stringify([s.reduce((a, b) => a * b, 1)]);
          break;
        case "type":
          text = mut.value;
          break;
        default: {
          const dims = s.map(String);
          dims[mut.dim % dims.length] = mut.value;
          text = `[${dims.join(",")}]`;
        }
      }
      return {
        file: rebuilt(parts(new Map([[t, { shape: text }]]))),
        detail: `${e.name} shape ${JSON.stringify(s)} -> ${clip(text)}`,
      };
    }
    case "dtype": {
      const t = mut.tensor % count;
      return {
        file: rebuilt(parts(new Map([[t, { dtype: mut.value }]]))),
        detail: `${entries[t]!.name} dtype ${entries[t]!.dtype} -> ${mut.value}`,
      };
    }
    case "offsets": {
      const t = mut.tensor % count;
      const e = entries[t]!;
      let text: string;
      switch (mut.how) {
        case "begin":
          text = `[${e.begin + mut.k},${e.end}]`;
          break;
        case "end":
          text = `[${e.begin},${e.end + mut.k}]`;
          break;
        case "shift":
          text = `[${e.begin + mut.k},${e.end + mut.k}]`;
          break;
        case "reverse":
          text = `[${e.end},${e.begin}]`;
          break;
        case "swap": {
          // Swap spans with the next tensor of the same byte size (valid, the values trade places), else any.
          const size = e.end - e.begin;
          const other =
            entries.find((o, i) => i !== t && o.end - o.begin === size) ?? entries[(t + 1) % count]!;
          const over = new Map<number, EntryText>([
            [t, { offsets: `[${other.begin},${other.end}]` }],
            [entries.indexOf(other), { offsets: `[${e.begin},${e.end}]` }],
          ]);
          return { file: rebuilt(parts(over)), detail: `spans of ${e.name} and ${other.name} swapped` };
        }
        default:
          text = mut.value;
      }
      return {
        file: rebuilt(parts(new Map([[t, { offsets: text }]]))),
        detail: `${e.name} data_offsets [${e.begin},${e.end}] -> ${text}`,
      };
    }
    case "duplicate": {
      const t = mut.tensor % count;
      const e = entries[t]!;
      const size = e.end - e.begin;
      const twin = entries.find((o, i) => i !== t && o.end - o.begin === size);
      const p = parts();
      switch (mut.how) {
        case "identical":
          p.push([e.name, entryJson(e)]);
          return { file: rebuilt(p), detail: `${e.name} listed twice, identically` };
        case "other-span": {
          const o = twin ?? entries[(t + 1) % count]!;
          p.push([
            e.name,
            entryJson(e, { offsets: `[${o.begin},${o.end}]`, shape: JSON.stringify(o.shape) }),
          ]);
          return { file: rebuilt(p), detail: `${e.name} listed again, pointing at ${o.name}'s span` };
        }
        case "into-gap": {
          // The issue's case: a tensor's entry removed (its span now a gap), a duplicate of another
          // tensor of the same size pointing into that gap; a last-wins parser sees a complete-looking header.
          const o = twin ?? entries[(t + 1) % count]!;
          const q = p.filter(([k]) => k !== o.name);
          q.push([
            e.name,
            entryJson(e, { offsets: `[${o.begin},${o.end}]`, shape: JSON.stringify(o.shape) }),
          ]);
          return {
            file: rebuilt(q),
            detail: `${o.name}'s entry removed; ${e.name} listed again, pointing into that gap`,
          };
        }
        case "other-shape":
          p.push([e.name, entryJson(e, { shape: JSON.stringify([...e.shape].reverse()) })]);
          return { file: rebuilt(p), detail: `${e.name} listed again with shape reversed` };
        default:
          p.push(["__metadata__", '{"format":"np"}']);
          return { file: rebuilt(p), detail: "__metadata__ listed twice" };
      }
    }
    case "delete": {
      const t = mut.tensor % count;
      const e = entries[t]!;
      if (mut.keepData)
        return {
          file: rebuilt(parts().filter(([k]) => k !== e.name)),
          detail: `${e.name}'s entry removed, data kept`,
        };
      const size = e.end - e.begin;
      const kept = entries
        .filter((_, i) => i !== t)
        .map((o) => (o.begin >= e.end ? { ...o, begin: o.begin - size, end: o.end - size } : o));
      const d = Buffer.concat([data.subarray(0, e.begin), data.subarray(e.end)]);
      return {
        file: assembleSafetensors(
          headerOf([METADATA, ...kept.map((o): [string, string] => [o.name, entryJson(o)])]),
          d,
        ),
        detail: `${e.name} removed with its data (a valid file without it)`,
      };
    }
    case "nest": {
      const e = entries[0]!;
      const deep = (inner: string) => nested(mut.depth, inner, mut.obj);
      const what = `${mut.depth} levels of ${mut.obj ? "objects" : "arrays"}`;
      const p = parts();
      switch (mut.where) {
        case "metadata":
          p[0] = ["__metadata__", `{"format":${deep('"pt"')}}`];
          break;
        case "dtype":
          p[1] = [e.name, entryJson(e, { dtype: deep('"F32"') })];
          break;
        case "shape":
          p[1] = [e.name, entryJson(e, { shape: deep(JSON.stringify(e.shape)) })];
          break;
        case "offsets":
          p[1] = [e.name, entryJson(e, { offsets: deep(`[${e.begin},${e.end}]`) })];
          break;
        case "extra":
          p.push(["fuzz", deep("1")]);
          break;
        default:
          return { file: assembleSafetensors(deep(headerOf(p)), data), detail: `header wrapped in ${what}` };
      }
      return { file: rebuilt(p), detail: `${mut.where} nested ${what}` };
    }
    case "reformat": {
      const obj: Record<string, unknown> = { __metadata__: { format: "pt" } };
      for (const e of entries)
        obj[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [e.begin, e.end] };
      switch (mut.how) {
        case "pretty":
          return {
            file: assembleSafetensors(JSON.stringify(obj, null, 2), data),
            detail: "header pretty-printed",
          };
        case "reverse":
          return { file: rebuilt(parts().reverse()), detail: "header keys in reverse order" };
        case "no-metadata":
          return { file: rebuilt(parts().slice(1)), detail: "__metadata__ removed" };
        case "more-metadata":
          return {
            file: rebuilt([
              ["__metadata__", '{"format":"pt","fuzz":"x","constructor":"y","__proto__":"z"}'],
              ...parts().slice(1),
            ]),
            detail: "__metadata__ gains string entries (fuzz, constructor, __proto__)",
          };
        case "padding":
          return {
            file: assembleSafetensors(headerOf(parts()) + " ".repeat(64), data),
            detail: "header padded with 64 more spaces",
          };
        default: {
          const p = parts();
          p[1] = [entries[0]!.name, entryJson(entries[0]!, { extra: ',"fuzz":1' })];
          return { file: rebuilt(p), detail: `${entries[0]!.name} entry gains an unknown field` };
        }
      }
    }
    case "not-object":
      return { file: assembleSafetensors(mut.json, data), detail: `header is ${JSON.stringify(mut.json)}` };
    case "proto-name": {
      const t = mut.tensor % count;
      const e = entries[t]!;
      if (mut.rename) {
        const p = parts();
        p[t + 1] = [mut.name, entryJson(e)];
        return { file: rebuilt(p), detail: `${e.name} renamed ${mut.name}` };
      }
      const end = data.length;
      const p = parts();
      p.push([mut.name, `{"dtype":"F32","shape":[1],"data_offsets":[${end},${end + 4}]}`]);
      return {
        file: rebuilt(p, Buffer.concat([data, Buffer.alloc(4)])),
        detail: `extra tensor named ${mut.name} (valid span)`,
      };
    }
    case "empty":
      return {
        file: assembleSafetensors("{}", Buffer.alloc(0)),
        detail: "header {} and no data (a valid file with no tensors)",
      };
  }
}

const fmtShape = (s: readonly bigint[]) => `[${s.join(", ")}]`;

/** What exit 0 must mean for a corrupted file, by the reference rules and the clean file's tensors. */
export function safetensorsExpect(r: OracleResult, clean: readonly OracleTensor[], cmd: Command): Expect {
  if (!r.ok) return FAIL(`invalid safetensors (${r.reason})`);
  const before = new Map(clean.map((t) => [t.name, t]));
  const after = new Map(r.tensors.map((t) => [t.name, t]));
  const missing = clean.filter((t) => !after.has(t.name));
  const extra = r.tensors.filter((t) => !before.has(t.name));
  const reshaped = r.tensors.filter(
    (t) => before.has(t.name) && fmtShape(t.shape) !== fmtShape(before.get(t.name)!.shape),
  );
  const changed = r.tensors.filter((t) => {
    const c = before.get(t.name);
    return c && (c.dtype !== t.dtype || !c.data.equals(t.data));
  });
  if (!missing.length && !extra.length && !reshaped.length && !changed.length) return SAME;
  if (cmd === "inspect") return ANY;
  if (missing.length) return FAIL(`a valid file without the architecture's tensor ${missing[0]!.name}`);
  if (reshaped.length) {
    const t = reshaped[0]!;
    return FAIL(
      `${t.name} is ${fmtShape(t.shape)}, the architecture's shape is ${fmtShape(before.get(t.name)!.shape)}`,
    );
  }
  return ANY;
}

export function prepareSafetensors(c: SafetensorsCase, ws: Workspace, clean: Clean): Prepared {
  const { file, detail } = corruptSafetensors(c.mut, clean);
  writeFileSync(join(ws.a, "model.safetensors"), file);
  if (c.command === "merge") writeFileSync(ws.yaml, linearMergeYaml(ws));
  const r = validateSafetensors(file);
  const inputsFinite = !r.ok || firstNonFinite(r.tensors) === undefined;
  return {
    ...modelCommand(c.command, ws),
    kind: `${c.mut.m}${"how" in c.mut ? `/${c.mut.how}` : ""}${"where" in c.mut ? `/${c.mut.where}` : ""}`,
    detail,
    expect: safetensorsExpect(r, clean.tensors, c.command),
    writesOutput: c.command === "upscale" || c.command === "merge",
    finiteOutput: c.command === "merge" || inputsFinite,
  };
}
