// Streaming decode: text for tokens as they arrive, never splitting a multi-byte UTF-8 character.
//
// How: a byte-level or byte-fallback token can carry part of a character. Decoding a token list
// whose bytes end mid-character yields U+FFFD (the replacement character) at the end, so the text
// "complete so far" is the decoded text minus one trailing U+FFFD. Decoding is done twice over a
// short window of the last few tokens: ids[from:start] (what earlier calls emitted) and ids[from:]
// (what is complete now); the new text is the difference. The window keeps each call O(window);
// it starts at a character boundary (its decoded text does not begin with U+FFFD), and since both
// decodes start at the same token, start-of-text rules (SentencePiece's dropped leading space)
// affect both alike and cancel out.

/** Tokens decoded before `start` for context (the window moves earlier, up to 4 times this, while it
 * starts inside a character); held-back bytes of a pending character are at most 3 tokens. */
export const STREAM_CONTEXT_TOKENS = 8;

const REPLACEMENT = "\uFFFD";

/** The text minus a trailing U+FFFD: the part that later tokens cannot change. */
export function completePrefix(text: string): string {
  return text.endsWith(REPLACEMENT) ? text.slice(0, -REPLACEMENT.length) : text;
}

/**
 * The text that ids[start:] add once ids[:start] were streamed by earlier calls (each with the
 * then-current list and `start` = the length at the previous call). Concatenated, the returned
 * pieces equal decode(ids) once a last call with `final` has flushed a held-back trailing U+FFFD.
 */
export function decodeIncrement(
  decode: (ids: number[]) => string,
  ids: number[],
  start: number,
  final = false,
): string {
  if (!Number.isInteger(start) || start < 0 || start > ids.length)
    throw new RangeError(`decodeIncrement: start ${start} is outside 0..${ids.length}`);
  const diff = (from: number, decodedBefore = decode(ids.slice(from, start))): string | undefined => {
    const before = completePrefix(decodedBefore);
    const now = decode(ids.slice(from));
    const after = final ? now : completePrefix(now);
    return after.startsWith(before) ? after.slice(before.length) : undefined;
  };
  // A window that starts inside a character decodes that character's last bytes to U+FFFD, which
  // could be taken for a pending character at the end: start such a window earlier, at a boundary.
  let from = Math.max(0, start - STREAM_CONTEXT_TOKENS);
  let decodedBefore = decode(ids.slice(from, start));
  const limit = Math.max(0, start - 4 * STREAM_CONTEXT_TOKENS);
  while (from > limit && decodedBefore.startsWith(REPLACEMENT))
    decodedBefore = decode(ids.slice(--from, start));
  const windowed = diff(from, decodedBefore);
  if (windowed !== undefined) return windowed;
  // The decoder rewrote text inside the window (e.g. clean_up_tokenization_spaces turning " ." into
  // "."): decode from the first token, and if earlier text still changed, emit what follows the
  // common part (streamed text cannot be taken back).
  const whole = from > 0 ? diff(0) : undefined;
  if (whole !== undefined) return whole;
  const before = completePrefix(decode(ids.slice(0, start)));
  const now = decode(ids);
  const after = final ? now : completePrefix(now);
  let common = 0;
  while (common < before.length && common < after.length && before[common] === after[common]) common++;
  return after.slice(common);
}
