import { randomBytes } from "node:crypto";
import { existsSync, realpathSync, rmSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, isAbsolute } from "node:path";
import { DeepenError, OutputError } from "../errors.js";

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

/** Checks that `target` may be written, before any work is done. */
export function checkOutputTarget(target: string, opts: AtomicOutputOptions = {}): void {
  const out = realish(target);
  for (const input of opts.inputs ?? []) {
    const inp = realish(input);
    if (isWithin(out, inp)) throw new OutputError(`output ${target} is inside the input folder ${input}`);
    if (isWithin(inp, out)) throw new OutputError(`output ${target} contains the input folder ${input}`);
  }
  if (existsSync(target) && !opts.force)
    throw new OutputError(`output ${target} exists; pass --force to replace it`);
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
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOSPC" || code === "EDQUOT") {
      throw new OutputError(`no space left on the device while writing ${target} (partial output removed)`);
    }
    if (!(e instanceof DeepenError) && (code === "EACCES" || code === "EROFS" || code === "EPERM")) {
      throw new OutputError(`cannot write ${target}: ${code}`);
    }
    throw e;
  }
  if (existsSync(abs)) {
    const old = join(parent, `.${basename(abs)}.deepen-old-${tag}`);
    await rename(abs, old);
    await rename(tmp, abs);
    await rm(old, { recursive: true, force: true });
  } else {
    await rename(tmp, abs);
  }
  live.delete(tmp);
  return result;
}
