// Python `re` patterns, as lm-evaluation-harness's task files write them, run in JavaScript with
// Python's meaning. The two dialects read most patterns alike but differ where it changes a score:
// Python's `$` also matches before a final newline, its `.` stops only at "\n" (JavaScript's also at
// "\r", U+2028 and U+2029), `\d`, `\w`, `\s` and `\b` are Unicode-aware, flags come inline (`(?s)`),
// `\,` and `\-` are plain escapes and `{` is literal where it is no quantifier. A pattern is translated
// once into an equivalent JavaScript pattern with the `u` flag; what has no exact equivalent here
// (verbose mode, scoped flags, possessive quantifiers, atomic groups, conditionals, `\N{…}`) is refused
// with a UsageError rather than run with another meaning.

import { UsageError } from "../../errors.js";
import { PYTHON_WHITESPACE } from "./pythonStr.js";

/** A translated pattern. */
export interface PyRegex {
  /** The Python pattern, for messages. */
  readonly pattern: string;
  readonly source: string;
  /** "u", with "i" under Python's IGNORECASE. */
  readonly flags: string;
  /** How many capturing groups: Python's `findall` returns strings for 0 or 1, tuples for more. */
  readonly groups: number;
}

/** One element of a character class: a code point, a range, or text for inside JavaScript's `[…]`. */
type Category = { text: string; outside?: string };
type ClassItem = { lo: number; hi: number } | Category;

interface Flags {
  ascii: boolean;
  dotAll: boolean;
  multiline: boolean;
  ignoreCase: boolean;
}

const UNICODE_WORD = "\\p{L}\\p{N}_"; // Python's \w: str.isalnum() characters and "_"
const ASCII_WORD = "A-Za-z0-9_";
const ASCII_SPACE = " \\t\\n\\r\\x0b\\x0c";
const JS_SYNTAX = "^$\\.*+?()[]{}|/";
const MAX_CODE_POINT = 0x10ffff;
const PY_SPACE_RANGES: [number, number][] = [
  [0x09, 0x0d],
  [0x1c, 0x20],
  [0x85, 0x85],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
];
const ASCII_SPACE_RANGES: [number, number][] = [
  [0x09, 0x0d],
  [0x20, 0x20],
];
const ASCII_WORD_RANGES: [number, number][] = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];

const hex = (cp: number) => `\\u{${cp.toString(16)}}`;

/** The code points not in `ranges` (sorted, disjoint), as the inside of a JavaScript class. */
function complement(ranges: [number, number][]): string {
  let out = "";
  let next = 0;
  for (const [lo, hi] of ranges) {
    if (lo > next) out += `${hex(next)}-${hex(lo - 1)}`;
    next = hi + 1;
  }
  return next <= MAX_CODE_POINT ? out + `${hex(next)}-${hex(MAX_CODE_POINT)}` : out;
}

/** What Python's category escapes mean, as the inside of a JavaScript class. Unicode `\W` has no
 * such form without set subtraction, so it carries the whole class to use instead (`outside`). */
function category(letter: string, f: Flags): Category | undefined {
  switch (letter) {
    case "d":
      return { text: f.ascii ? "0-9" : "\\p{Nd}" };
    case "D":
      return { text: f.ascii ? complement([[0x30, 0x39]]) : "\\P{Nd}" };
    case "w":
      return { text: f.ascii ? ASCII_WORD : UNICODE_WORD };
    case "W":
      return f.ascii ? { text: complement(ASCII_WORD_RANGES) } : { text: "", outside: `[^${UNICODE_WORD}]` };
    case "s":
      return { text: f.ascii ? ASCII_SPACE : PYTHON_WHITESPACE };
    case "S":
      return { text: complement(f.ascii ? ASCII_SPACE_RANGES : PY_SPACE_RANGES) };
  }
  return undefined;
}

const SIMPLE_ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, "\\": 92 };

class Translator {
  private at = 0;
  private readonly f: Flags = { ascii: false, dotAll: false, multiline: false, ignoreCase: false };

  constructor(private readonly pattern: string) {}

  private refuse(what: string): never {
    throw new UsageError(`regex ${JSON.stringify(this.pattern)}: ${what}`);
  }

  translate(): { source: string; flags: string } {
    this.leadingFlags();
    let out = "";
    // What was written last, for what a following `?` or `+` means: lazy or possessive after a quantifier.
    let last: "quantifier" | "other" = "other";
    while (this.at < this.pattern.length) {
      const c = this.pattern[this.at]!;
      if (last === "quantifier" && c === "+")
        this.refuse("possessive quantifiers (*+, ++, ?+) have no JavaScript equivalent");
      if (c === "*" || c === "+" || c === "?") {
        out += c;
        this.at++;
        last = last === "quantifier" && c === "?" ? "other" : "quantifier"; // "*?" is lazy, done
        continue;
      }
      last = "other";
      if (c === "{") {
        // Python reads `{m}`, `{m,}`, `{,n}`, `{m,n}` and `{,}` as quantifiers, any other `{` as itself.
        const q = /^\{(\d*)(?:(,)(\d*))?\}/.exec(this.pattern.slice(this.at));
        if (q && q[0] !== "{}") {
          out += q[2] === undefined ? `{${q[1]}}` : `{${q[1] || "0"},${q[3]}}`;
          this.at += q[0].length;
          last = "quantifier";
        } else {
          out += "\\{";
          this.at++;
        }
        continue;
      }
      this.at++;
      if (c === "\\") out += this.escape();
      else if (c === "[") out += this.charClass();
      else if (c === "(") out += this.group();
      else if (c === ".") out += this.f.dotAll ? "[\\s\\S]" : "[^\\n]";
      else if (c === "^") out += this.f.multiline ? "(?<![^\\n])" : "^";
      else if (c === "$") out += this.f.multiline ? "(?![^\\n])" : "(?=\\n?$)";
      else if (c === "}" || c === "]") out += "\\" + c;
      else out += c;
    }
    return { source: out, flags: this.f.ignoreCase ? "iu" : "u" };
  }

  /** Python 3.11 accepts global flags only at the start: `(?s)`, `(?i)(?m)`. */
  private leadingFlags(): void {
    for (let m; (m = /^\(\?([a-zA-Z]+)\)/.exec(this.pattern.slice(this.at))); this.at += m[0].length) {
      for (const flag of m[1]!) {
        if (flag === "i") this.f.ignoreCase = true;
        else if (flag === "s") this.f.dotAll = true;
        else if (flag === "m") this.f.multiline = true;
        else if (flag === "a") this.f.ascii = true;
        else if (flag !== "u") this.refuse(`the inline flag (?${flag}) is not supported`);
      }
    }
  }

  private group(): string {
    const rest = this.pattern.slice(this.at);
    if (!rest.startsWith("?")) return "(";
    for (const same of ["?:", "?=", "?!", "?<=", "?<!"]) {
      if (rest.startsWith(same)) {
        this.at += same.length;
        return "(" + same;
      }
    }
    const named = /^\?P<([^>]*)>/.exec(rest);
    if (named) {
      this.at += named[0].length;
      return `(?<${named[1]}>`;
    }
    const backref = /^\?P=([^)]*)\)/.exec(rest);
    if (backref) {
      this.at += backref[0].length;
      return `\\k<${backref[1]}>`;
    }
    if (rest.startsWith("?#")) {
      const close = this.pattern.indexOf(")", this.at);
      if (close < 0) this.refuse("a (?# comment is not closed");
      this.at = close + 1;
      return "";
    }
    if (/^\?[-a-zA-Z]+[:)]/.test(rest))
      this.refuse("inline flags are supported only at the start of the pattern, not scoped or later");
    this.refuse(`the group (${rest.slice(0, 2)}… has no JavaScript equivalent`);
  }

  /** A code point escape shared by both contexts (`\n`, `\x41`, `\u00e9`, `\U0001F600`, octal),
   * or undefined when the escape is something else. */
  private codePointEscape(c: string, inClass: boolean): number | undefined {
    if (c in SIMPLE_ESCAPES && (c !== "b" || inClass)) {
      this.at++;
      return SIMPLE_ESCAPES[c];
    }
    const digits = c === "x" ? 2 : c === "u" ? 4 : c === "U" ? 8 : 0;
    if (digits > 0) {
      const h = this.pattern.slice(this.at + 1, this.at + 1 + digits);
      if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(h)) this.refuse(`incomplete escape \\${c}${h}`);
      const cp = parseInt(h, 16);
      if (cp > MAX_CODE_POINT) this.refuse(`bad escape \\${c}${h}`);
      this.at += 1 + digits;
      return cp;
    }
    // Octal: \0 and up to two more octal digits, or three octal digits (outside a class a shorter
    // run of digits is a group reference instead).
    const octal = (inClass ? /^[0-7]{1,3}/ : /^(?:0[0-7]{0,2}|[0-7]{3})/).exec(this.pattern.slice(this.at));
    if (octal) {
      const cp = parseInt(octal[0], 8);
      if (cp > 0o377) this.refuse(`octal escape \\${octal[0]} is over \\377`);
      this.at += octal[0].length;
      return cp;
    }
    return undefined;
  }

  /** After a backslash outside a class. */
  private escape(): string {
    const c = this.pattern[this.at];
    if (c === undefined) this.refuse("a trailing backslash");
    const cp = this.codePointEscape(c, false);
    if (cp !== undefined) return hex(cp);
    const cat = category(c, this.f);
    this.at++;
    if (cat) return cat.outside ?? `[${cat.text}]`;
    if (c === "A") return "^";
    if (c === "Z") return "$";
    if (c === "b" || c === "B") {
      const w = `[${this.f.ascii ? ASCII_WORD : UNICODE_WORD}]`;
      return c === "b"
        ? `(?:(?<=${w})(?!${w})|(?<!${w})(?=${w}))`
        : `(?:(?<=${w})(?=${w})|(?<!${w})(?!${w}))`;
    }
    if (/[1-9]/.test(c)) {
      // A group reference of one or two digits; wrapped so that a digit after it stays a literal.
      const ref = /^\d?/.exec(this.pattern.slice(this.at))![0];
      this.at += ref.length;
      return `(?:\\${c}${ref})`;
    }
    if (c === "N") this.refuse("\\N{…} named characters are not supported");
    if (/[a-zA-Z0-9]/.test(c)) this.refuse(`bad escape \\${c}`);
    const ch = String.fromCodePoint(this.wholeCodePoint());
    return JS_SYNTAX.includes(ch) ? "\\" + ch : ch;
  }

  /** The code point that starts at `at - 1`, stepping past the second half of a surrogate pair. */
  private wholeCodePoint(): number {
    const cp = this.pattern.codePointAt(this.at - 1)!;
    if (cp > 0xffff) this.at++;
    return cp;
  }

  /** One element of a class: a code point or a category. */
  private classAtom(): ClassItem {
    const c = this.pattern[this.at];
    if (c === undefined) this.refuse("a character set [ is not closed");
    this.at++;
    if (c !== "\\") {
      const cp = this.wholeCodePoint();
      return { lo: cp, hi: cp };
    }
    const e = this.pattern[this.at];
    if (e === undefined) this.refuse("a trailing backslash");
    const cp = this.codePointEscape(e, true);
    if (cp !== undefined) return { lo: cp, hi: cp };
    const cat = category(e, this.f);
    this.at++;
    if (cat) return cat;
    if (/[a-zA-Z0-9]/.test(e)) this.refuse(`bad escape \\${e} in a character set`);
    const lit = this.wholeCodePoint();
    return { lo: lit, hi: lit };
  }

  /** After `[`: Python's set syntax (a `]` first is a literal, `-` before `]` is a literal). */
  private charClass(): string {
    const negate = this.pattern[this.at] === "^";
    if (negate) this.at++;
    const items: ClassItem[] = [];
    for (let first = true; ; first = false) {
      if (this.pattern[this.at] === "]" && !first) {
        this.at++;
        break;
      }
      let item = this.classAtom();
      if (
        this.pattern[this.at] === "-" &&
        this.pattern[this.at + 1] !== "]" &&
        this.at + 1 < this.pattern.length
      ) {
        this.at++;
        const end = this.classAtom();
        if (!("lo" in item) || !("lo" in end) || end.lo < item.lo)
          this.refuse("bad character range in a character set");
        item = { lo: item.lo, hi: end.lo };
      }
      items.push(item);
    }
    const inside = items.map((i) =>
      "lo" in i ? (i.lo === i.hi ? hex(i.lo) : `${hex(i.lo)}-${hex(i.hi)}`) : i.text,
    );
    const outside = items.flatMap((i) => ("outside" in i && i.outside ? [i.outside] : []));
    if (outside.length === 0) return `[${negate ? "^" : ""}${inside.join("")}]`;
    // Unicode \W inside a set: the set becomes an alternation of its parts.
    const parts = inside.join("") === "" ? outside : [`[${inside.join("")}]`, ...outside];
    const union = `(?:${parts.join("|")})`;
    return negate ? `(?:(?!${union})[\\s\\S])` : union;
  }
}

const cache = new Map<string, PyRegex>();

/** A Python pattern translated and checked. UsageError (naming the pattern) if it cannot be. */
export function pyCompile(pattern: string): PyRegex {
  const known = cache.get(pattern);
  if (known) return known;
  const { source, flags } = new Translator(pattern).translate();
  let groups: number;
  try {
    // An empty alternative always matches, so the match's length tells the number of groups.
    groups = new RegExp(`${source}|`, flags).exec("")!.length - 1;
  } catch (e) {
    throw new UsageError(`regex ${JSON.stringify(pattern)}: ${(e as Error).message}`);
  }
  const compiled = { pattern, source, flags, groups };
  cache.set(pattern, compiled);
  return compiled;
}

/**
 * The matches of `re` in `text`, left to right, as Python (3.7 on) finds them: after an empty match a
 * non-empty one may start at the same place (JavaScript would step one character on first).
 */
export function* pyFinditer(re: PyRegex, text: string): Generator<RegExpExecArray> {
  const search = new RegExp(re.source, re.flags + "g");
  let pos = 0;
  let mustAdvance = false;
  while (pos <= text.length) {
    let m: RegExpExecArray | null = null;
    if (mustAdvance) {
      m = nonEmptyAt(re, text, pos);
      if (m === null) {
        if (pos >= text.length) return;
        pos += text.codePointAt(pos)! > 0xffff ? 2 : 1;
      }
    }
    if (m === null) {
      search.lastIndex = pos;
      m = search.exec(text);
      if (m === null) return;
    }
    yield m;
    const end = m.index + m[0].length;
    mustAdvance = end === m.index;
    pos = end;
  }
}

/** A match starting at `pos` that is not empty (backtracking into the pattern to find one). */
function nonEmptyAt(re: PyRegex, text: string, pos: number): RegExpExecArray | null {
  const before = [...text.slice(0, pos)].length;
  const sticky = new RegExp(`(?:${re.source})(?<!^[\\s\\S]{${before}})`, re.flags + "y");
  sticky.lastIndex = pos;
  return sticky.exec(text);
}

/** Python's `re.findall`: the whole matches, group 1's text, or tuples of every group's ("" unmatched). */
export function pyFindall(re: PyRegex, text: string): (string | string[])[] {
  return [...pyFinditer(re, text)].map((m) =>
    re.groups === 0 ? m[0] : re.groups === 1 ? (m[1] ?? "") : m.slice(1).map((g) => g ?? ""),
  );
}

/** Python's `re.sub(pattern, "", text)`: every match removed. */
export function pyRemove(re: PyRegex, text: string): string {
  let out = "";
  let from = 0;
  for (const m of pyFinditer(re, text)) {
    out += text.slice(from, m.index);
    from = m.index + m[0].length;
  }
  return out + text.slice(from);
}
