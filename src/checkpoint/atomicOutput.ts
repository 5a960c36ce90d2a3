import { randomBytes } from "node:crypto";
import { existsSync, lstatSync, readdirSync, realpathSync, rmSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { link, mkdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, isAbsolute } from "node:path";
import { DeepenError, OutputError } from "../errors.js";
import { countOf } from "../formatCount.js";
import { CONFIG_FILE, INDEX_FILE } from "./modelFolder.js";

export interface AtomicOutputOptions {
  force?: boolean;
  /** Input folders: the output may not be one of them, inside one, or contain one. */
  inputs?: readonly string[];
}

// Temporary folders still being written; removed if the process is interrupted.
const live = new Set<string>();
let handlersInstalled = false;
function installSignalCleanup() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      const removed = live.size;
      for (const d of live) rmSync(d, { recursive: true, force: true });
      live.clear();
      // A command with its own handler (training saves a checkpoint on Ctrl-C) decides how to stop,
      // unless the signal interrupted a write in progress.
      if (removed > 0 || process.listenerCount(sig) <= 1) process.exit(sig === "SIGINT" ? 130 : 143);
    });
  }
}

/** The real path of `p`, or of its nearest existing ancestor joined with the rest. */
function realish(p: string): string {
  const abs = resolve(p);
  if (existsSync(abs)) return realpathSync(abs);
  const parent = dirname(abs);
  return parent === abs ? abs : join(realish(parent), basename(abs));
}

function isWithin(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** What deepen writes, recognised by the files it always puts there. */
export type OutputKind =
  | "model folder"
  | "run folder"
  | "report folder"
  | "seam report"
  | "tokenizer folder"
  | "token cache entry"
  | "data folder";

/** Which kind of deepen output `dir` holds, "empty" for an empty folder, or undefined for anything else. */
export function outputKind(dir: string): OutputKind | "empty" | undefined {
  // Leftovers of deepen's own atomic writes (a process killed mid-write) count as nothing.
  // A training run's lock (.deepen-lock) marks a run in progress, not content.
  const names = readdirSync(dir).filter((n) => !/\.deepen-(tmp|old)-|^\.deepen-(write-test|lock)$/.test(n));
  if (names.length === 0) return "empty";
  const has = (n: string) => names.includes(n);
  if (has(CONFIG_FILE) && names.some((n) => n.endsWith(".safetensors") || n === INDEX_FILE))
    return "model folder";
  if (has("metrics.jsonl") || has("final") || names.some((n) => /^checkpoint-\d+$/.test(n))) {
    return has("demo.json") ? "report folder" : "run folder";
  }
  if (has("demo.json")) return "report folder";
  // deepen seam -o: the measures and the recipe of the recommended cut.
  if (has("seam.json") && has("recipe.yml")) return "seam report";
  if (has("tokenizer.json")) return "tokenizer folder";
  if (has("tokens.u32") && has("index.json")) return "token cache entry";
  // A generated data set (deepen data math): its splits and the info.json that records how it was made.
  if (has("info.json") && has("train.jsonl")) return "data folder";
  return undefined;
}

/**
 * Refuses to let --force replace `target` unless it is something deepen wrote: never a filesystem
 * root, the home or current folder, a file, or a folder of anything else (a typo must not cost data).
 */
export function checkReplaceable(target: string): void {
  const out = realish(target);
  const refuse = (why: string) => {
    throw new OutputError(`--force will not replace ${target}: ${why}`);
  };
  if (dirname(out) === out) refuse("it is a filesystem root");
  if (out === realish(homedir())) refuse("it is the home folder");
  if (out === realish(process.cwd())) refuse("it is the current folder");
  if (isWithin(realish(process.cwd()), out)) refuse("it contains the current folder");
  if (!statSync(out).isDirectory()) refuse("it is a file, not a folder deepen wrote");
  if (outputKind(out) === undefined) {
    refuse(
      `it holds ${countOf(readdirSync(out).length, "entry", "entries")} and is not a model, run, report, tokenizer or data folder deepen wrote (remove it yourself, or choose another output)`,
    );
  }
}

/** Refuses an output that is, is inside, or contains one of the inputs. */
export function checkOutsideInputs(target: string, inputs: readonly string[]): void {
  const out = realish(target);
  for (const input of inputs) {
    const inp = realish(input);
    if (isWithin(out, inp)) throw new OutputError(`output ${target} is inside the input folder ${input}`);
    if (isWithin(inp, out)) throw new OutputError(`output ${target} contains the input folder ${input}`);
  }
}

/** Checks that `target` may be written, before any work is done. */
export function checkOutputTarget(target: string, opts: AtomicOutputOptions = {}): void {
  checkOutsideInputs(target, opts.inputs ?? []);
  if (!existsSync(target)) return;
  checkReplaceable(target);
  if (!opts.force) throw new OutputError(`output ${target} exists; pass --force to replace it`);
}

/**
 * Runs `fill` on a fresh temporary folder beside `target` and renames it into place only when
 * `fill` succeeds, so a failure or an interrupt never leaves a partial output where a result is expected.
 */
export async function withAtomicOutput<T>(
  target: string,
  opts: AtomicOutputOptions,
  fill: (tmpDir: string) => Promise<T>,
): Promise<T> {
  checkOutputTarget(target, opts);
  const abs = resolve(target);
  const parent = dirname(abs);
  const tag = `${process.pid}-${randomBytes(4).toString("hex")}`;
  const tmp = join(parent, `.${basename(abs)}.deepen-tmp-${tag}`);
  try {
    await mkdir(parent, { recursive: true });
    await mkdir(tmp);
  } catch (e) {
    throw new OutputError(`cannot create ${target}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  installSignalCleanup();
  live.add(tmp);
  let result: T;
  try {
    result = await fill(tmp);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    live.delete(tmp);
    throw writeFailure(e, target);
  }
  try {
    await moveIntoPlace(tmp, target, opts, tag);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    live.delete(tmp);
    if (e instanceof DeepenError) throw e;
    throw new OutputError(`cannot write ${target}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  live.delete(tmp);
  return result;
}

/** A failed write in terms of the output (disk full, unwritable), after its partial output is removed. */
function writeFailure(e: unknown, target: string): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new OutputError(`no space left on the device while writing ${target} (partial output removed)`);
  }
  if (!(e instanceof DeepenError) && (code === "EACCES" || code === "EROFS" || code === "EPERM")) {
    return new OutputError(`cannot write ${target}: ${code}`);
  }
  return e;
}

/** Whether anything (a folder, a file, a dangling link) is at `p`. */
function present(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** What rename(2) says when a folder cannot go where something already is (non-empty folder, file). */
const CLASH = new Set(["ENOTEMPTY", "EEXIST", "ENOTDIR", "EISDIR"]);

/** Another command wrote the target while this one ran: the first to finish keeps it. */
export function writtenMeanwhile(target: string): OutputError {
  return new OutputError(
    `output ${target} was written by another command while this one ran; this result was not kept (--force replaces it)`,
  );
}

/** Tries to move a target aside this many times before giving up on a folder other commands keep replacing. */
const PLACE_ATTEMPTS = 5;

/**
 * Renames the finished `tmp` to `target`. The rename itself decides a race: a folder never lands on
 * a non-empty folder or a file, so without `force` whoever renames first keeps the target and the
 * other is refused (checked here, not only at the start: another command may have written it since).
 * With `force` the old target, if deepen wrote it, is moved aside and removed once the new one is in.
 */
async function moveIntoPlace(tmp: string, target: string, opts: AtomicOutputOptions, tag: string) {
  const abs = resolve(target);
  for (let attempt = 0; attempt < PLACE_ATTEMPTS; attempt++) {
    let old: string | undefined;
    if (present(abs)) {
      if (!opts.force) throw writtenMeanwhile(target);
      checkReplaceable(target);
      old = join(dirname(abs), `.${basename(abs)}.deepen-old-${tag}-${attempt}`);
      try {
        await rename(abs, old);
      } catch (e) {
        // Another --force run moved it first: look again.
        if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw e;
      }
    }
    try {
      await rename(tmp, abs);
    } catch (e) {
      if (!CLASH.has((e as NodeJS.ErrnoException).code ?? "")) {
        // The old output goes back where it was rather than vanish with the new one.
        if (old) await rename(old, abs).catch(() => {});
        throw e;
      }
      // Someone else's output landed between the look and the rename.
      if (old) await rm(old, { recursive: true, force: true });
      if (!opts.force) throw writtenMeanwhile(target);
      continue;
    }
    if (old) await rm(old, { recursive: true, force: true });
    return;
  }
  throw new OutputError(`output ${target} kept being replaced by other commands while this one wrote it`);
}

export interface AtomicFileOptions {
  force?: boolean;
  /** Input files and folders: the output may not be one of them or inside one. */
  inputs?: readonly string[];
  /** What kind of file --force may replace, and how to recognise it (a typo must not cost data). */
  replaceable: { kind: string; test: (file: string) => Promise<boolean> };
}

/** Checks that the single file `target` may be written, before any work is done. */
export async function checkFileTarget(target: string, opts: AtomicFileOptions): Promise<void> {
  const out = realish(target);
  for (const input of opts.inputs ?? []) {
    const inp = realish(input);
    if (out === inp) throw new OutputError(`output ${target} is the input ${input}`);
    if (isWithin(out, inp)) throw new OutputError(`output ${target} is inside the input folder ${input}`);
  }
  if (!present(resolve(target))) return;
  if (!statSync(target).isFile()) throw new OutputError(`output ${target} exists and is not a file`);
  if (!opts.force) throw new OutputError(`output ${target} exists; pass --force to replace it`);
  if (!(await opts.replaceable.test(target))) {
    throw new OutputError(`--force will not replace ${target}: it is not a ${opts.replaceable.kind}`);
  }
}

/**
 * Runs `fill` on a temporary file name beside `target` and renames the file into place only when
 * `fill` succeeds: a failure or an interrupt never leaves a partial file where a result is expected.
 * Without --force the file is linked into place, which fails if another command wrote it meanwhile.
 */
export async function withAtomicFile<T>(
  target: string,
  opts: AtomicFileOptions,
  fill: (tmpFile: string) => Promise<T>,
): Promise<T> {
  await checkFileTarget(target, opts);
  const abs = resolve(target);
  const tmp = join(
    dirname(abs),
    `.${basename(abs)}.deepen-tmp-${process.pid}-${randomBytes(4).toString("hex")}`,
  );
  try {
    await mkdir(dirname(abs), { recursive: true });
  } catch (e) {
    throw new OutputError(`cannot create ${target}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  installSignalCleanup();
  live.add(tmp);
  const cleanup = async () => {
    await rm(tmp, { force: true });
    live.delete(tmp);
  };
  let result: T;
  try {
    result = await fill(tmp);
    if (opts.force) await rename(tmp, abs);
    else {
      try {
        await link(tmp, abs);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EEXIST") throw writtenMeanwhile(target);
        // Filesystems without hard links (vfat, some network mounts): look, then rename.
        if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP") throw e;
        if (present(abs)) throw writtenMeanwhile(target);
        await rename(tmp, abs);
      }
    }
  } catch (e) {
    await cleanup();
    throw writeFailure(e, target);
  }
  await cleanup();
  return result;
}
