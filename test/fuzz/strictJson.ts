// A JSON reader for the fuzz suite's oracles, stricter than JSON.parse in the ways the reference
// safetensors implementation (Rust, serde_json) is: it keeps every key of an object in order, so
// duplicates are visible; it keeps each number's text, so 9007199254740993 and 1.0 stay what they
// were written as; and it refuses nesting deeper than serde_json's recursion limit (128) instead
// of overflowing a stack.

export type JsonValue =
  | { t: "null" }
  | { t: "bool"; v: boolean }
  | { t: "num"; text: string }
  | { t: "str"; v: string }
  | { t: "arr"; items: JsonValue[] }
  | { t: "obj"; entries: [string, JsonValue][] };

/** serde_json's default recursion limit: the 128th nested array or object is an error. */
export const SERDE_RECURSION_LIMIT = 128;

export class StrictJsonError extends Error {}

export function parseStrictJson(text: string): JsonValue {
  let i = 0;
  const fail = (what: string): never => {
    throw new StrictJsonError(`${what} at ${i}`);
  };
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const value = (depth: number): JsonValue => {
    ws();
    const c = text[i];
    if (c === "{" || c === "[") {
      if (depth + 1 >= SERDE_RECURSION_LIMIT) fail("recursion limit exceeded");
      i++;
      ws();
      if (c === "[") {
        const items: JsonValue[] = [];
        if (text[i] === "]") {
          i++;
          return { t: "arr", items };
        }
        for (;;) {
          items.push(value(depth + 1));
          ws();
          if (text[i] === ",") i++;
          else if (text[i] === "]") {
            i++;
            return { t: "arr", items };
          } else fail("expected , or ]");
        }
      }
      const entries: [string, JsonValue][] = [];
      if (text[i] === "}") {
        i++;
        return { t: "obj", entries };
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected a key");
        const k = str();
        ws();
        if (text[i] !== ":") fail("expected :");
        i++;
        entries.push([k, value(depth + 1)]);
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "}") {
          i++;
          return { t: "obj", entries };
        } else fail("expected , or }");
      }
    }
    if (c === '"') return { t: "str", v: str() };
    if (text.startsWith("true", i)) {
      i += 4;
      return { t: "bool", v: true };
    }
    if (text.startsWith("false", i)) {
      i += 5;
      return { t: "bool", v: false };
    }
    if (text.startsWith("null", i)) {
      i += 4;
      return { t: "null" };
    }
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m) return fail("unexpected character");
    i += m[0].length;
    return { t: "num", text: m[0] };
  };
  const str = (): string => {
    i++; // opening quote
    let out = "";
    for (;;) {
      if (i >= text.length) fail("unterminated string");
      const c = text[i]!;
      if (c === '"') {
        i++;
        return out;
      }
      if (c.charCodeAt(0) < 0x20) fail("control character in string");
      if (c === "\\") {
        const e = text[i + 1];
        const simple: Record<string, string> = {
          '"': '"',
          "\\": "\\",
          "/": "/",
          b: "\b",
          f: "\f",
          n: "\n",
          r: "\r",
          t: "\t",
        };
        if (e !== undefined && Object.hasOwn(simple, e)) {
          out += simple[e];
          i += 2;
        } else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else fail("bad escape");
      } else {
        out += c;
        i++;
      }
    }
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail("trailing characters");
  return v;
}

/** A non-negative integer as serde reads a usize/u64: digits only, at most 2^64 - 1. */
export function asU64(v: JsonValue): bigint | undefined {
  if (v.t !== "num" || !/^(0|[1-9][0-9]*)$/.test(v.text)) return undefined;
  const n = BigInt(v.text);
  return n <= 0xffff_ffff_ffff_ffffn ? n : undefined;
}
