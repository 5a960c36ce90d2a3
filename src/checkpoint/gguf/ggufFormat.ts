// The GGUF container (ggml's docs/gguf.md): magic "GGUF", a version, the tensor and metadata counts,
// the metadata key/value pairs, one info record per tensor (name, dims innermost first, type,
// offset), padding to the alignment, then the tensor data, each tensor at an aligned offset
// relative to the start of the data.

/** The four bytes every GGUF file starts with. */
export const GGUF_MAGIC = Buffer.from("GGUF", "latin1");
/** The version deepen writes; llama.cpp has written version 3 since late 2023. */
export const GGUF_VERSION = 3;
/** Versions deepen reads: 2 and 3 share the layout (64-bit counts); version 1's 32-bit counts are from 2023's first files. */
export const GGUF_READ_VERSIONS: readonly number[] = [2, 3];
/** Tensor data alignment when `general.alignment` is absent. */
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** The key that overrides the alignment. */
export const ALIGNMENT_KEY = "general.alignment";

/** A 400B mixture-of-experts file holds a few thousand tensors; more than this is corruption. */
export const MAX_GGUF_TENSORS = 1_000_000;
/** ggml tensors have at most four dimensions (GGML_MAX_DIMS). */
export const MAX_GGUF_DIMS = 4;
/** llama.cpp pads to small powers of two (32 by default); a huge alignment would make gaps of garbage. */
export const MAX_GGUF_ALIGNMENT = 1 << 20;
/** A metadata value deepen writes is never a longer string than a chat template or a merge list entry. */
export const MAX_GGUF_STRING_BYTES = 10_000_000;
// The remaining limits on what is read from a file are enforced by @huggingface/gguf while it
// parses: 100k metadata pairs, strings of 10 MB, arrays of 1M elements (a 256k vocabulary fits),
// arrays nested 4 deep, tensor dims below 2^32, a header of 50 MB.
