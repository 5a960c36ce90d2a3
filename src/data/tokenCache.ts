// A corpus tokenized once and kept on disk: one flat file of uint32 little-endian token ids (each
// document's ids, then the EOS id) and a JSON index of where each document starts. The entry is a
// folder in the cache folder named by a sha256 key over everything that decides its tokens, so a
// second run with the same inputs and tokenizer reuses it and any change makes a new one.
//
//   CACHE/KEY/tokens.u32   the ids, 4 bytes each, little-endian
//   CACHE/KEY/index.json   {format, version, key, documents, totalTokens, eosId, docStarts}
//
// The folder is written under a temporary name and renamed when complete (withAtomicOutput), so an
// interrupted run never leaves an entry that a later run would take as whole.

import { createHash } from "node:crypto";
import { createReadStream, existsSync, realpathSync } from "node:fs";
import { open, stat, writeFile, type FileHandle } from "node:fs/promises";
import { endianness } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";
import { withAtomicOutput } from "../checkpoint/atomicOutput.js";
import { readJsonObject } from "../checkpoint/jsonFile.js";
import { CheckpointError, UsageError } from "../errors.js";
import {
  SPECIAL_TOKENS_MAP_FILE,
  TOKENIZER_CONFIG_FILE,
  TOKENIZER_FILE,
  type Tokenizer,
} from "../tokenizer/loadTokenizer.js";
import {
  DEFAULT_TEXT_FIELD,
  type InputFile,
  listInputFiles,
  type ListOptions,
  noInputFiles,
  readInputDocuments,
} from "./corpus.js";

/** Bumped whenever the files' layout or the way documents become tokens changes: old entries are
 * then simply not found. */
export const TOKEN_CACHE_VERSION = 1;
export const TOKEN_CACHE_FORMAT = "deepen-token-cache";
export const TOKENS_FILE = "tokens.u32";
export const CORPUS_INDEX_FILE = "index.json";
/** The index holds one number per document; JSON.parse needs it in one string (V8: < 512 M characters). */
const MAX_INDEX_BYTES = 512 * 1024 * 1024;
/** Tokens written per write call (1 MiB). */
const WRITE_CHUNK_TOKENS = 1 << 18;
const BIG_ENDIAN = endianness() === "BE";

/** A tokenized corpus on disk, read by token offset. */
export interface TokenizedCorpus {
  /** The cache entry's folder. */
  readonly dir: string;
  readonly key: string;
  /** Number of documents. */
  readonly documents: number;
  readonly totalTokens: number;
  /** The offset (in tokens) where document i starts; docStart(documents) is totalTokens. */
  docStart(i: number): number;
  /** Tokens of document i, its EOS included. */
  docLength(i: number): number;
  /** `count` tokens from offset `start`. RangeError outside [0, totalTokens). */
  read(start: number, count: number): Promise<Uint32Array>;
  close(): Promise<void>;
}

class TokenFile implements TokenizedCorpus {
  readonly documents: number;
  readonly totalTokens: number;
  private closed = false;

  constructor(
    readonly dir: string,
    readonly key: string,
    private readonly starts: Float64Array,
    private readonly fh: FileHandle,
  ) {
    this.documents = starts.length - 1;
    this.totalTokens = starts[this.documents]!;
  }

  private get file() {
    return join(this.dir, TOKENS_FILE);
  }

  docStart(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i > this.documents)
      throw new RangeError(`document ${i} is outside the corpus's ${this.documents} documents`);
    return this.starts[i]!;
  }

  docLength(i: number): number {
    return this.docStart(i + 1) - this.docStart(i);
  }

  async read(start: number, count: number): Promise<Uint32Array> {
    if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0)
      throw new RangeError(`token range (${start}, ${count}) must be whole numbers ≥ 0`);
    if (start + count > this.totalTokens)
      throw new RangeError(
        `tokens [${start}, ${start + count}) go past the end of ${this.file} (${this.totalTokens} tokens)`,
      );
    const out = new Uint32Array(count);
    const bytes = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    for (let done = 0; done < bytes.length;) {
      const { bytesRead } = await this.fh.read(bytes, done, bytes.length - done, start * 4 + done);
      if (bytesRead === 0)
        throw new CheckpointError(this.file, `ends before token ${start + done / 4} (was it truncated?)`);
      done += bytesRead;
    }
    if (BIG_ENDIAN) bytes.swap32();
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** Opens a cache entry folder. CheckpointError when its index or token file is missing, malformed
 * or disagrees with the other. */
export async function openTokenizedCorpus(dir: string): Promise<TokenizedCorpus> {
  const indexFile = join(dir, CORPUS_INDEX_FILE);
  const tokensFile = join(dir, TOKENS_FILE);
  const index = await readJsonObject(indexFile, MAX_INDEX_BYTES);
  if (index.format !== TOKEN_CACHE_FORMAT || index.version !== TOKEN_CACHE_VERSION)
    throw new CheckpointError(
      indexFile,
      `not a version ${TOKEN_CACHE_VERSION} ${TOKEN_CACHE_FORMAT} index (format ${JSON.stringify(index.format)}, version ${JSON.stringify(index.version)})`,
    );
  const { key, documents, totalTokens, docStarts } = index;
  if (typeof key !== "string") throw new CheckpointError(indexFile, "key must be a string");
  if (!isCount(documents) || !isCount(totalTokens))
    throw new CheckpointError(indexFile, "documents and totalTokens must be whole numbers ≥ 0");
  if (!Array.isArray(docStarts) || docStarts.length !== documents + 1)
    throw new CheckpointError(
      indexFile,
      `docStarts must be a list of documents + 1 = ${documents + 1} offsets`,
    );
  const starts = new Float64Array(docStarts.length);
  for (let i = 0; i < docStarts.length; i++) {
    const v: unknown = docStarts[i];
    if (!isCount(v) || (i > 0 && v < starts[i - 1]!))
      throw new CheckpointError(indexFile, `docStarts[${i}] is not an offset ≥ the one before it`);
    starts[i] = v;
  }
  if (starts[0] !== 0 || starts[documents] !== totalTokens)
    throw new CheckpointError(indexFile, `docStarts must run from 0 to totalTokens (${totalTokens})`);
  let size: number;
  try {
    size = (await stat(tokensFile)).size;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(
      tokensFile,
      code === "ENOENT" ? "missing" : `cannot read: ${code ?? String(e)}`,
    );
  }
  if (size !== totalTokens * 4)
    throw new CheckpointError(
      tokensFile,
      `${size} bytes, but ${CORPUS_INDEX_FILE} says ${totalTokens} tokens (${totalTokens * 4} bytes)`,
    );
  return new TokenFile(dir, key, starts, await open(tokensFile, "r"));
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  try {
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${file}: cannot read (${code ?? String(e)})`);
  }
  return hash.digest("hex");
}

async function sha256OptionalFile(file: string): Promise<string | null> {
  return existsSync(file) ? sha256File(file) : null;
}

/**
 * The cache key: sha256 of a JSON record of the format version, the tokenizer's files
 * (tokenizer.json, tokenizer_config.json and special_tokens_map.json, by content; the last two may be
 * absent), the EOS id appended to each document, the JSONL text field, and for each input file, in
 * order, its name relative to its input root and the sha256 of its content.
 */
export async function corpusKey(
  files: readonly InputFile[],
  tokenizer: Tokenizer,
  textField: string,
  eosId: number,
): Promise<string> {
  const record = {
    format: TOKEN_CACHE_FORMAT,
    version: TOKEN_CACHE_VERSION,
    tokenizer: await sha256File(join(tokenizer.dir, TOKENIZER_FILE)),
    tokenizerConfig: await sha256OptionalFile(join(tokenizer.dir, TOKENIZER_CONFIG_FILE)),
    specialTokensMap: await sha256OptionalFile(join(tokenizer.dir, SPECIAL_TOKENS_MAP_FILE)),
    eosId,
    textField,
    files: [] as string[][],
  };
  // A file read another way than its name says records that reader, so a changed reader re-tokenizes.
  for (const f of files) {
    const sha = await sha256File(f.path);
    record.files.push(f.format ? [f.name, sha, f.format] : [f.name, sha]);
  }
  return createHash("sha256").update(JSON.stringify(record)).digest("hex");
}

/** UsageError when the cache folder would be read as part of an input folder (a dot-folder is skipped). */
function checkCacheOutsideInputs(paths: readonly string[], cacheDir: string): void {
  const real = (p: string) => (existsSync(p) ? realpathSync(p) : resolve(p));
  const cache = real(cacheDir);
  for (const p of paths) {
    const rel = relative(real(p), cache);
    if (rel.startsWith("..") || isAbsolute(rel)) continue;
    if (rel !== "" && rel.split(/[\\/]/).some((part) => part.startsWith("."))) continue;
    throw new UsageError(
      `cache folder ${cacheDir} is inside the input ${p}: its files would be read as documents (use a folder outside it, or a dot-folder)`,
    );
  }
}

/** Writes uint32 little-endian ids through a fixed buffer. */
class TokenWriter {
  private readonly buf = Buffer.allocUnsafe(WRITE_CHUNK_TOKENS * 4);
  private fill = 0;
  constructor(private readonly fh: FileHandle) {}

  async push(ids: readonly number[] | Uint32Array): Promise<void> {
    for (let i = 0; i < ids.length; i++) {
      if (this.fill === WRITE_CHUNK_TOKENS) await this.flush();
      this.buf.writeUInt32LE(ids[i]!, this.fill * 4);
      this.fill++;
    }
  }

  async flush(): Promise<void> {
    const length = this.fill * 4;
    for (let done = 0; done < length;)
      done += (await this.fh.write(this.buf, done, length - done)).bytesWritten;
    this.fill = 0;
  }
}

export interface TokenizeOptions extends ListOptions {
  /** The folder that holds cache entries (created when missing). */
  cacheDir: string;
  /** The JSONL field that holds the text (default "text"). */
  textField?: string;
  /** Called while tokenizing (not when the cache is reused) with the input bytes read so far and
   * their total (sizes on disk: compressed, for .gz). */
  onProgress?: (bytes: number, totalBytes: number) => void;
}

/**
 * Tokenizes the documents of `paths` (see readDocuments) with `tokenizer.encode`, each followed by
 * `tokenizer.eosIds[0]`, into a cache entry under `opts.cacheDir`, or reuses the entry when one with
 * the same key (corpusKey) is there. Memory holds one document and the document index, never the
 * corpus. UsageError for no input files, no documents, a tokenizer without an EOS token, a cache
 * folder inside an input folder, and every input error readDocuments names.
 */
export async function tokenizeCorpus(
  paths: readonly string[],
  tokenizer: Tokenizer,
  opts: TokenizeOptions,
): Promise<{ corpus: TokenizedCorpus; reused: boolean }> {
  const textField = opts.textField ?? DEFAULT_TEXT_FIELD;
  if (textField === "") throw new UsageError("the text field must not be empty");
  const eosId = tokenizer.eosIds[0];
  if (eosId === undefined)
    throw new UsageError(
      `the tokenizer in ${tokenizer.dir} has no EOS token, which pretraining puts between documents`,
    );
  if (paths.length === 0) throw new UsageError("no input files or folders given");
  const files = await listInputFiles(paths, opts);
  if (files.length === 0) throw noInputFiles(paths, opts.extensions);
  checkCacheOutsideInputs(paths, opts.cacheDir);

  const key = await corpusKey(files, tokenizer, textField, eosId);
  const dir = join(opts.cacheDir, key);
  if (existsSync(join(dir, CORPUS_INDEX_FILE))) {
    try {
      const corpus = await openTokenizedCorpus(dir);
      if (corpus.key === key) return { corpus, reused: true };
      await corpus.close();
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      // A damaged entry is only a cache: it is written again below.
    }
  }

  const totalBytes = files.reduce((sum, f) => sum + f.bytes, 0);
  let bytesRead = 0;
  const onBytes = opts.onProgress && ((n: number) => opts.onProgress!((bytesRead += n), totalBytes));
  const starts = await withAtomicOutput(dir, { force: true }, async (tmp) => {
    const fh = await open(join(tmp, TOKENS_FILE), "w");
    const starts: number[] = [0];
    try {
      const writer = new TokenWriter(fh);
      let total = 0;
      for (const file of files) {
        for await (const doc of readInputDocuments(file, { textField, onBytes })) {
          const ids = tokenizer.encode(doc.text);
          await writer.push(ids);
          await writer.push([eosId]);
          total += ids.length + 1;
          starts.push(total);
        }
      }
      await writer.flush();
      await fh.sync();
    } finally {
      await fh.close();
    }
    const documents = starts.length - 1;
    if (documents === 0)
      throw new UsageError(`no documents in ${paths.join(", ")}: every file and JSONL line is empty`);
    const index = {
      format: TOKEN_CACHE_FORMAT,
      version: TOKEN_CACHE_VERSION,
      key,
      documents,
      totalTokens: starts[documents]!,
      eosId,
      tokenizer: tokenizer.dir,
      textField,
      files: files.length,
      docStarts: starts,
    };
    await writeFile(join(tmp, CORPUS_INDEX_FILE), JSON.stringify(index) + "\n");
    return starts;
  });
  const corpus = new TokenFile(dir, key, Float64Array.from(starts), await open(join(dir, TOKENS_FILE), "r"));
  return { corpus, reused: false };
}
