// JSON.parse with the two checks it lacks. It builds whatever it is given, however deep: a value
// nested 10,000 levels overflows the stack of anything that later walks it recursively
// (JSON.stringify, in a message or when a config is written back), and a header nested 30 million
// levels costs gigabytes before any check can run. And it keeps the last of two equal keys without
// a word: in a safetensors header a repeated tensor name hides a tensor. One linear scan before
// JSON.parse refuses both; it holds only the stack of open containers, which the depth limit bounds.
// Everything else about the syntax is left to JSON.parse, which runs only once the scan passes.

import { previewJson } from "./previewJson.js";

export interface JsonLimits {
  /** Containers ({…} or […]) open at once, at most. */
  maxDepth: number;
  /** Refuse an object that repeats a key. */
  refuseDuplicateKeys?: boolean;
}

/** Why a JSON text was refused. `syntax`: JSON.parse's own complaint; otherwise a limit of `JsonLimits`. */
export class JsonTextError extends Error {
  override readonly name = "JsonTextError";
  constructor(
    readonly syntax: boolean,
    message: string,
  ) {
    super(message);
  }
}

/** V8 quotes a snippet of the text around a syntax error; a message is kept to one short line. */
const MAX_SYNTAX_MESSAGE = 200;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** Parses `text`, refusing it (JsonTextError) when it breaks `limits` or is not JSON. */
export function parseJson(text: string, limits: JsonLimits): unknown {
  scanJson(text, limits);
  try {
    return JSON.parse(text);
  } catch (e) {
    const message = String((e as Error).message).replace(/\s+/g, " ");
    throw new JsonTextError(
      true,
      message.length > MAX_SYNTAX_MESSAGE ? message.slice(0, MAX_SYNTAX_MESSAGE) + "…" : message,
    );
  }
}

/** Index of the quote that closes the string opened at `open`, or text.length when it never closes. */
function stringEnd(text: string, open: number): number {
  let j = open;
  for (;;) {
    j = text.indexOf('"', j + 1);
    if (j < 0) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(j - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return j;
  }
}

/** The key a quoted JSON string stands for, or undefined when its escapes are malformed (JSON.parse says so). */
function keyText(quoted: string): string | undefined {
  if (!quoted.includes("\\")) return quoted.slice(1, -1);
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return undefined;
  }
}

/** Checks nesting depth and (when asked) repeated keys, tolerating any other malformation. */
function scanJson(text: string, limits: JsonLimits): void {
  const { maxDepth } = limits;
  const dedupe = !!limits.refuseDuplicateKeys;
  // Per open container: whether it is an object, and (refusing duplicates) the keys it has had.
  const isObject: boolean[] = [];
  const keys: (Set<string> | undefined)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (expectKey && dedupe) {
        const key = keyText(text.slice(i, end + 1));
        const seen = keys[keys.length - 1];
        if (key !== undefined && seen) {
          if (seen.has(key))
            throw new JsonTextError(
              false,
              `repeats the key ${previewJson(key)} at character ${i} (a JSON reader keeps only the last, hiding the first)`,
            );
          seen.add(key);
        }
      }
      expectKey = false;
      i = end;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (isObject.length >= maxDepth)
        throw new JsonTextError(false, `nests deeper than ${maxDepth} levels at character ${i}`);
      const object = c === OPEN_OBJECT;
      isObject.push(object);
      keys.push(object && dedupe ? new Set() : undefined);
      expectKey = object;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      isObject.pop();
      keys.pop();
      expectKey = false;
    } else if (c === COMMA) {
      expectKey = isObject[isObject.length - 1] === true;
    }
  }
}
