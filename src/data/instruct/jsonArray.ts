// The elements of a JSON array file, one at a time, without holding the file: datasets shipped as one
// JSON array run to hundreds of MB (ShareGPT dumps are ~650 MB, past V8's ~512 M-character string
// limit), while each element is small. The bytes are scanned for the commas and the closing bracket
// of the top-level array, outside strings and nested values; each element's bytes then go to
// JSON.parse. Every delimiter is ASCII and UTF-8 never uses ASCII bytes inside a multi-byte
// character, so the scan works on bytes before any decoding.

import { UsageError } from "../../errors.js";

/**
 * One element is held whole (JSON.parse needs all of it), so one over this size is refused rather
 * than left to exhaust memory; a chat example is a few KB, a long-context one a few MB.
 */
export const MAX_JSON_ELEMENT_BYTES = 256 * 1024 * 1024;

const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACKET = 0x5d; // ]
const OPEN_BRACE = 0x7b; // {
const CLOSE_BRACE = 0x7d; // }
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/** The state between chunks: where in the array the scan is. */
type Phase =
  | "start" // before the opening bracket (a UTF-8 BOM and whitespace allowed)
  | "first" // after the opening bracket: an element or the closing bracket
  | "next" // after a comma: an element
  | "element" // inside an element
  | "done"; // after the closing bracket: whitespace only

/** Splits the bytes of a JSON array into its elements' bytes. `file` names the file in errors. */
export class JsonArraySplitter {
  private phase: Phase = "start";
  private depth = 0;
  private inString = false;
  private escaped = false;
  private parts: Buffer[] = [];
  private partsLength = 0;
  private offset = 0;
  private index = 0;

  constructor(private readonly file: string) {}

  /** The elements completed by `chunk`, in order. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let start = 0; // where the current element's bytes begin in this chunk
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      switch (this.phase) {
        case "start":
          if (b === OPEN_BRACKET) this.phase = "first";
          else if (!isSpace(b) && !this.isBom(b, i))
            throw this.error(i, "a JSON array file must start with [");
          break;
        case "first":
        case "next":
          if (isSpace(b)) break;
          if (b === CLOSE_BRACKET) {
            if (this.phase === "next") throw this.error(i, "a comma before ] (trailing commas are not JSON)");
            this.phase = "done";
            break;
          }
          if (b === COMMA) throw this.error(i, "an empty element (two commas)");
          this.phase = "element";
          start = i;
          this.depth = 0;
          this.scan(b);
          break;
        case "element":
          if (!this.inString && this.depth <= 0 && (b === COMMA || b === CLOSE_BRACKET)) {
            out.push(this.take(chunk.subarray(start, i)));
            this.phase = b === COMMA ? "next" : "done";
          } else this.scan(b);
          break;
        case "done":
          if (!isSpace(b)) throw this.error(i, "data after the closing ] of the array");
          break;
      }
    }
    if (this.phase === "element") this.keep(chunk.subarray(start));
    this.offset += chunk.length;
    return out;
  }

  /** UsageError unless the array was closed: a file cut short would otherwise lose its last records
   * quietly. A file of whitespace only is empty, not an error. */
  end(): void {
    if (this.phase !== "start" && this.phase !== "done")
      throw new UsageError(`${this.file}: the JSON array is not closed with ] (is the file cut short?)`);
  }

  /** Follows strings and nesting inside an element. */
  private scan(b: number): void {
    if (this.inString) {
      if (this.escaped) this.escaped = false;
      else if (b === BACKSLASH) this.escaped = true;
      else if (b === QUOTE) this.inString = false;
    } else if (b === QUOTE) this.inString = true;
    else if (b === OPEN_BRACE || b === OPEN_BRACKET) this.depth++;
    else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) this.depth--;
  }

  /** Whether byte `b` at `i` of the current chunk is part of a UTF-8 byte-order mark opening the file. */
  private isBom(b: number, i: number): boolean {
    const at = this.offset + i;
    return at < 3 && b === [0xef, 0xbb, 0xbf][at];
  }

  private keep(bytes: Buffer): void {
    this.partsLength += bytes.length;
    if (this.partsLength > MAX_JSON_ELEMENT_BYTES)
      throw new UsageError(
        `${this.file}[${this.index}]: the element is over ${MAX_JSON_ELEMENT_BYTES} bytes; one record is held in memory whole`,
      );
    // A copy, so that an element held does not keep the whole chunk it was cut from alive.
    this.parts.push(Buffer.from(bytes));
  }

  private take(tail: Buffer): Buffer {
    this.keep(tail);
    const whole = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partsLength);
    this.parts = [];
    this.partsLength = 0;
    this.index++;
    return whole;
  }

  private error(i: number, what: string): UsageError {
    return new UsageError(`${this.file}: not a JSON array: ${what} (at byte ${this.offset + i})`);
  }
}
