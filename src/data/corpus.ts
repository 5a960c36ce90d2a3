// Text corpora on disk: plain text files (one document each), JSONL (one document per line), gzip of
// either, and folders of them. Everything is streamed: a JSONL file is read a chunk at a time and
// split into lines as bytes, so its size never matters, only the size of one document.

import { createReadStream } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { basename, join, relative, sep } from "node:path";
import { pipeline, Transform, type Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { UsageError } from "../errors.js";
import { countOf } from "../formatCount.js";
import { BROWN_READER, untagBrown } from "./brownText.js";
import { isEmbedded, resolveEmbedded } from "./embeddedCorpus.js";

/** The JSONL field read when none is given. */
export const DEFAULT_TEXT_FIELD = "text";

/**
 * One document is held whole in memory (the tokenizer needs all of it), so a text file or a JSONL
 * line over this size is refused rather than left to exhaust memory (V8 strings stop at ~512 M
 * characters): such a file is a corpus in one piece, to be split into files or JSONL lines.
 */
export const MAX_DOCUMENT_BYTES = 256 * 1024 * 1024;

export interface InputFile {
  /** The path to open: an input path as given, or one joined under an input folder. */
  path: string;
  /** The path relative to its input root, with `/` separators: the file's name for a file given
   * directly, the path below the folder for a file found in one. What the cache key records, so
   * that moving a corpus folder keeps its cache. */
  name: string;
  /** Size on disk (compressed, for .gz). */
  bytes: number;
  /** A reader other than the one its name implies: the Brown corpus's tagged text (embedded files only). */
  format?: typeof BROWN_READER;
}

export interface Document {
  text: string;
  /** Where it came from: the file, and `:LINE` for a JSONL line. */
  source: string;
}

export interface ReadOptions {
  /** The JSONL field that holds the text (default "text"). */
  textField?: string;
  /** Called as bytes of the file are read from disk (compressed bytes, for .gz). */
  onBytes?: (bytes: number) => void;
}

type Format = "text" | "jsonl";

/** How a file is read, from its name: `.jsonl` is JSONL, `.gz` is gzip of the format its name
 * without `.gz` says, anything else is a text file. */
/** Data formats that are not text: training on their bytes as prose would be silently wrong. */
const NOT_TEXT =
  /\.(parquet|arrow|feather|zst|zip|tar|bz2|xz|7z|pdf|safetensors|bin|npy|npz|pt|png|jpe?g|gif)$/;

export function fileFormat(path: string): { format: Format; gzip: boolean } {
  const lower = path.toLowerCase();
  const gzip = lower.endsWith(".gz");
  const inner = gzip ? lower.slice(0, -3) : lower;
  if (NOT_TEXT.test(inner)) {
    throw new UsageError(
      `${path}: not a text or JSONL file (deepen reads .txt-like text, .jsonl and .gz of either)`,
    );
  }
  if (inner.endsWith(".json")) {
    throw new UsageError(`${path}: .json is ambiguous; give JSON Lines (one object per line) as .jsonl`);
  }
  return { format: inner.endsWith(".jsonl") ? "jsonl" : "text", gzip };
}

const isHidden = (name: string) => name.startsWith(".");
const posix = (p: string) => p.split(sep).join("/");

/** Every file below `dir` (dot-files and dot-folders skipped, symbolic links followed once),
 * collected into `out` with names relative to `root`. */
async function walk(root: string, dir: string, seen: Set<string>, out: InputFile[]): Promise<void> {
  const real = await realpath(dir);
  if (seen.has(real)) return; // a link back up the tree
  seen.add(real);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (isHidden(entry.name)) continue;
    const path = join(dir, entry.name);
    let isDir = entry.isDirectory();
    let size = 0;
    if (entry.isSymbolicLink() || entry.isFile()) {
      let s;
      try {
        s = await stat(path);
      } catch {
        continue; // a dangling link is not an input
      }
      isDir = s.isDirectory();
      if (!isDir && !s.isFile()) continue;
      size = s.size;
    } else if (!isDir) continue; // sockets, fifos, devices
    if (isDir) await walk(root, path, seen, out);
    else out.push({ path, name: posix(relative(root, path)), bytes: size });
  }
  seen.delete(real);
}

/** What a folder is read for unless --ext says otherwise: prose and JSONL, and gzip of them. */
export const DEFAULT_TEXT_EXTENSIONS: readonly string[] = ["txt", "md", "jsonl"];

export interface ListOptions {
  /** Extensions (without the dot) of the files read from folders; .gz of each counts too.
   * Default DEFAULT_TEXT_EXTENSIONS. A file named directly is always read. */
  extensions?: readonly string[];
  /** Told each file of a folder that the extensions leave out (scripts, images, configs…). */
  onSkip?: (path: string) => void;
}

/** An --ext entry as written ("txt", ".TXT") in one form: "txt". */
const bare = (e: string) => e.replace(/^\./, "").toLowerCase();

/** Whether `name` (or `name` without .gz) ends in one of `extensions`. */
export function hasExtension(name: string, extensions: readonly string[]): boolean {
  const lower = name.toLowerCase().replace(/\.gz$/, "");
  return extensions.some((e) => lower.endsWith(`.${bare(e)}`));
}

/** One line for the files a folder listing left out: how many, which extensions were read, the first few. */
export function skippedNote(skipped: readonly string[], extensions?: readonly string[]): string {
  const exts = (extensions ?? DEFAULT_TEXT_EXTENSIONS).map((e) => `.${bare(e)}`).join(", ");
  const shown = skipped.slice(0, 3).join(", ") + (skipped.length > 3 ? ", …" : "");
  return `skipped ${countOf(skipped.length, "file")} not ending in ${exts} (or .gz of those; --ext chooses): ${shown}`;
}

/** The error for inputs that name no readable file, saying what a folder is read for. */
export function noInputFiles(paths: readonly string[], extensions?: readonly string[]): UsageError {
  return new UsageError(
    `no input files in ${paths.join(", ")} (dot-files are skipped; folders are read for ${(extensions ?? DEFAULT_TEXT_EXTENSIONS).join(", ")} files, --ext chooses)`,
  );
}

/** UsageError for an --ext list that names nothing. */
export function checkExtensions(extensions: readonly string[] | undefined): void {
  if (extensions !== undefined && (extensions.length === 0 || extensions.some((e) => bare(e) === "")))
    throw new UsageError("--ext: name at least one extension, e.g. --ext txt or --ext txt,jsonl");
}

/**
 * The files that `paths` name, in order: a file as itself, a folder as every file below it with one
 * of the text extensions (dot-files skipped) sorted by their path within the folder, `embedded:SPLIT`
 * as that part of the embedded corpus. UsageError when a path does not exist.
 */
export async function listInputFiles(paths: readonly string[], opts: ListOptions = {}): Promise<InputFile[]> {
  checkExtensions(opts.extensions);
  const extensions = opts.extensions ?? DEFAULT_TEXT_EXTENSIONS;
  const files: InputFile[] = [];
  for (const p of paths) {
    if (isEmbedded(p)) {
      files.push(...resolveEmbedded(p));
      continue;
    }
    let s;
    try {
      s = await stat(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new UsageError(
        code === "ENOENT" || code === "ENOTDIR"
          ? `${p}: no such file or folder`
          : `${p}: cannot read (${code ?? String(e)})`,
      );
    }
    if (s.isDirectory()) {
      const found: InputFile[] = [];
      await walk(p, p, new Set(), found);
      // Plain code-unit order: the same on every machine and locale.
      found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const f of found) {
        if (hasExtension(f.name, extensions)) files.push(f);
        else opts.onSkip?.(f.path);
      }
    } else {
      files.push({ path: p, name: basename(p), bytes: s.size });
    }
  }
  return files;
}

/** The file's bytes, decompressed when it is gzip, counting bytes read from disk. */
export function openBytes(file: string, gzip: boolean, onBytes?: (bytes: number) => void): Readable {
  const raw = createReadStream(file);
  const streams: (Readable | Transform)[] = [raw];
  if (onBytes)
    streams.push(
      new Transform({
        transform(chunk: Buffer, _encoding, done) {
          onBytes(chunk.length);
          done(null, chunk);
        },
      }),
    );
  if (gzip) streams.push(createGunzip());
  if (streams.length === 1) return raw;
  // pipeline destroys every stream on an error; the last one then throws it to its reader.
  return pipeline(streams as [Readable, ...Transform[]], () => {}) as unknown as Readable;
}

/** A read error as a one-line UsageError naming the file. */
export function readError(file: string, e: unknown): Error {
  if (e instanceof UsageError) return e;
  const err = e as NodeJS.ErrnoException;
  if (err.code === "ENOENT") return new UsageError(`${file}: no such file`);
  if (typeof err.code === "string" && err.code.startsWith("Z_"))
    return new UsageError(`${file}: not valid gzip data (${err.message.replace(/\s+/g, " ")})`);
  if (typeof err.code === "string") return new UsageError(`${file}: cannot read (${err.code})`);
  return e instanceof Error ? e : new Error(String(e));
}

const tooLarge = (where: string, what: string) =>
  new UsageError(
    `${where}: ${what} is over ${MAX_DOCUMENT_BYTES} bytes; one document is held in memory whole, so split it into smaller files or JSONL lines`,
  );

/** The whole (decompressed) file as one string, BOM removed. */
async function readWhole(file: string, gzip: boolean, onBytes?: (bytes: number) => void): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of openBytes(file, gzip, onBytes) as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > MAX_DOCUMENT_BYTES) throw tooLarge(file, "the text");
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks, length).toString("utf8");
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** The file's lines as strings, split on `\n` (a `\r` before it dropped); `\n` never occurs inside a
 * UTF-8 multi-byte character, so lines are cut from the bytes before any decoding. */
export async function* readLines(
  file: string,
  gzip: boolean,
  onBytes?: (bytes: number) => void,
): AsyncGenerator<{ line: string; number: number }> {
  let pending: Buffer[] = [];
  let pendingLength = 0;
  let number = 0;
  const finish = (tail: Buffer): string => {
    const bytes = pending.length === 0 ? tail : Buffer.concat([...pending, tail]);
    pending = [];
    pendingLength = 0;
    number++;
    let line = bytes.toString("utf8");
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (number === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    return line;
  };
  for await (const chunk of openBytes(file, gzip, onBytes) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      if (pendingLength + nl - start > MAX_DOCUMENT_BYTES)
        throw tooLarge(`${file}:${number + 1}`, "the line");
      yield { line: finish(chunk.subarray(start, nl)), number };
      start = nl + 1;
    }
    if (start < chunk.length) {
      pendingLength += chunk.length - start;
      if (pendingLength > MAX_DOCUMENT_BYTES) throw tooLarge(`${file}:${number + 1}`, "the line");
      pending.push(chunk.subarray(start));
    }
  }
  if (pendingLength > 0) yield { line: finish(Buffer.alloc(0)), number };
}

/** What a JSON value is, for an error message: "null", "a list", "an object", "a number"… */
export const describe = (v: unknown) =>
  v === null ? "null" : Array.isArray(v) ? "a list" : typeof v === "object" ? "an object" : `a ${typeof v}`;

/**
 * The documents of one file: the whole text of a text file, or each non-empty line's `textField` of a
 * JSONL file. Empty documents (an empty file, `""` in the field) are skipped: they would only add a
 * BOS/EOS pair to the token stream. UsageError (naming the file and the line) on invalid JSON, a line
 * that is not an object, a missing or non-string text field, unreadable or invalid gzip data.
 */
export async function* readFileDocuments(file: string, opts: ReadOptions = {}): AsyncGenerator<Document> {
  const field = opts.textField ?? DEFAULT_TEXT_FIELD;
  const { format, gzip } = fileFormat(file);
  try {
    if (format === "text") {
      const text = await readWhole(file, gzip, opts.onBytes);
      // A NUL or invalid UTF-8 (decoded as U+FFFD) in the first bytes means binary data, not prose.
      const head = text.slice(0, 4096);
      if (head.includes("\u0000") || head.includes("\uFFFD")) {
        throw new UsageError(`${file}: binary data, not UTF-8 text`);
      }
      if (text.length > 0) yield { text, source: file };
      return;
    }
    for await (const { line, number } of readLines(file, gzip, opts.onBytes)) {
      if (line.trim() === "") continue;
      const where = `${file}:${number}`;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (e) {
        throw new UsageError(`${where}: not valid JSON (${(e as Error).message.replace(/\s+/g, " ")})`);
      }
      if (typeof value !== "object" || value === null || Array.isArray(value))
        throw new UsageError(`${where}: a JSONL line must be a JSON object, not ${describe(value)}`);
      if (!(field in value)) throw new UsageError(`${where}: no "${field}" field`);
      const text = (value as Record<string, unknown>)[field];
      if (typeof text !== "string")
        throw new UsageError(`${where}: the "${field}" field is ${describe(text)}, not a string`);
      if (text.length > 0) yield { text, source: where };
    }
  } catch (e) {
    throw readError(file, e);
  }
}

/** The documents of one listed file, read as its `format` says (or as its name says, readFileDocuments). */
export async function* readInputDocuments(file: InputFile, opts: ReadOptions = {}): AsyncGenerator<Document> {
  if (file.format !== BROWN_READER) {
    yield* readFileDocuments(file.path, opts);
    return;
  }
  let raw: string;
  try {
    raw = await readWhole(file.path, false, opts.onBytes);
  } catch (e) {
    throw readError(file.path, e);
  }
  const text = untagBrown(raw);
  if (text.length > 0) yield { text, source: file.path };
}

/**
 * Every document of `paths` (files and folders, see listInputFiles), in order. UsageError, one line
 * naming the file (and line), for a path that does not exist or a file that cannot be read as its
 * name says.
 */
export async function* readDocuments(
  paths: readonly string[],
  opts: { textField?: string } & ListOptions = {},
): AsyncGenerator<Document> {
  for (const file of await listInputFiles(paths, opts)) yield* readInputDocuments(file, opts);
}
