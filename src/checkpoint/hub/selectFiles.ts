// Which of a repo's files deepen fetches: what a model folder needs to be opened, tokenized, merged
// and trained, not the same weights again as .bin, ONNX or GGUF.

/** Files read from a model folder's top level (tokenizer.model and the vocab/merges files carry over to outputs). */
const MODEL_FILES = new Set([
  "config.json",
  "generation_config.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "tokenizer.model",
  "chat_template.jinja",
  "added_tokens.json",
  "vocab.json",
  "vocab.txt",
  "merges.txt",
  "model.safetensors.index.json",
  "adapter_config.json",
]);

/**
 * A shell-style pattern as huggingface-cli's --include reads it (Python's fnmatch): `*` matches any
 * run of characters, `/` included; `?` one character; `[abc]` / `[!abc]` one of / none of a set.
 */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[" && glob.indexOf("]", i + 2) > 0) {
      const end = glob.indexOf("]", i + 2);
      let set = glob.slice(i + 1, end).replace(/\\/g, "\\\\");
      if (set.startsWith("!")) set = "^" + set.slice(1);
      re += `[${set}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "s");
}

/** Whether deepen fetches `path`: a model file at the top level, or one an `include` pattern names. */
export function fileSelector(include: readonly string[] = []): (path: string) => boolean {
  const patterns = include.map(globToRegExp);
  return (path) =>
    (!path.includes("/") && (MODEL_FILES.has(path) || path.endsWith(".safetensors"))) ||
    patterns.some((p) => p.test(path));
}
