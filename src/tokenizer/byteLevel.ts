// GPT-2's byte-level conventions, as the Hugging Face tokenizers libraries implement them: the table
// that gives each of the 256 bytes a printable character (so vocabulary strings and merges are
// readable JSON, and a space is "Ġ"), and the regular expression that splits text into words before
// BPE (the ByteLevel pre-tokenizer with use_regex: true).

/** GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the others (controls,
 * space, soft hyphen, …) take the characters from U+0100 up, in byte order. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = [];
  let shifted = 0;
  for (let b = 0; b < 256; b++) out.push(String.fromCharCode(printable(b) ? b : 256 + shifted++));
  return out;
})();

/** The inverse of BYTE_TO_CHAR. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/**
 * GPT-2's pre-tokenizer pattern, the one the ByteLevel pre-tokenizer of tokenizers (Rust) and
 * tokenizers.js apply: English contractions, a letter run, a digit run or a run of other symbols (each
 * with at most one leading space), then whitespace (a run before a word leaves its last space to
 * the word). Every character of the text falls in exactly one piece, so splitting loses nothing.
 */
export const GPT2_SPLIT_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;

const splitRegex = () => new RegExp(GPT2_SPLIT_PATTERN, "gu");

/** The pieces ("words") of `text` under GPT2_SPLIT_PATTERN, in order; their concatenation is `text`. */
export function splitWords(text: string): string[] {
  return text.match(splitRegex()) ?? [];
}

const encoder = new TextEncoder();

/** The byte-level form of a string: its UTF-8 bytes, each as its BYTE_TO_CHAR character. */
export function toByteLevel(text: string): string {
  let out = "";
  for (const b of encoder.encode(text)) out += BYTE_TO_CHAR[b];
  return out;
}

/** The UTF-8 bytes a byte-level string stands for; undefined when it holds a character outside the table. */
export function fromByteLevel(symbols: string): Uint8Array | undefined {
  const out = new Uint8Array(symbols.length);
  for (let i = 0; i < symbols.length; i++) {
    const b = CHAR_TO_BYTE.get(symbols[i]!);
    if (b === undefined) return undefined;
    out[i] = b;
  }
  return out;
}
