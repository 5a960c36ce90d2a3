import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after } from "node:test";
import type { TensorEntry } from "../src/checkpoint/safetensorsHeader.js";
import type { HostTensor } from "../src/runtime/session.js";
import { openModelFolder } from "../src/checkpoint/modelFolder.js";

/** A temporary folder removed when the test file finishes. */
export function tempDir(prefix = "deepen-test-"): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

export async function tensorBytes(e: TensorEntry): Promise<Buffer> {
  const fh = await open(e.file, "r");
  try {
    const buf = Buffer.alloc(e.end - e.begin);
    await fh.read(buf, 0, buf.length, e.begin);
    return buf;
  } finally {
    await fh.close();
  }
}

/** All tensors of a model folder: name → bytes. */
export async function modelTensors(dir: string): Promise<Map<string, { entry: TensorEntry; bytes: Buffer }>> {
  const m = await openModelFolder(dir);
  const out = new Map<string, { entry: TensorEntry; bytes: Buffer }>();
  for (const [name, entry] of m.tensors) out.set(name, { entry, bytes: await tensorBytes(entry) });
  return out;
}

/** Asserts two model folders hold the same tensors, in the same order, byte for byte. */
export async function expectSameTensors(a: string, b: string): Promise<void> {
  const [ta, tb] = [await modelTensors(a), await modelTensors(b)];
  assert.deepEqual([...ta.keys()], [...tb.keys()]);
  for (const [name, t] of ta) assert.ok(tb.get(name)!.bytes.equals(t.bytes), name);
}

export function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
}

const here = dirname(fileURLToPath(import.meta.url));
/** The compiled CLI (tests run from dist/test/). */
export const CLI = join(here, "..", "src", "cli", "main.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with `args`, SIGKILLs it as soon as `path` exists (a checkpoint, say), and waits
 * for it to be gone: a crash at a known point. Waits at most `waitMs` for the path. */
export async function killOnceExists(args: string[], path: string, waitMs = 20_000): Promise<void> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: "ignore" });
  const exited = new Promise((res) => child.on("exit", res));
  for (let waited = 0; waited < waitMs && !existsSync(path); waited += 5)
    await new Promise((res) => setTimeout(res, 5));
  child.kill("SIGKILL");
  await exited;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    cwd,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

import { writeSyntheticModel, type SyntheticOptions } from "./fixtures/syntheticModel.js";

let fixtureCount = 0;
/** A synthetic checkpoint in a fresh folder under `root`. */
export async function fixture(root: string, opts: SyntheticOptions): Promise<string> {
  const dir = join(root, `${opts.family}-${fixtureCount++}`);
  await writeSyntheticModel(dir, opts);
  return dir;
}

import { readdirSync, unlinkSync } from "node:fs";
import { shardName, writeShards } from "../src/checkpoint/writeShards.js";
import type { OutputTensor } from "../src/checkpoint/tensorStream.js";
import { INDEX_FILE } from "../src/checkpoint/modelFolder.js";
import { renameSync } from "node:fs";

/** Rewrites a model folder's weights as one model.safetensors, after `edit` changes the tensor list. */
export async function editTensors(
  dir: string,
  edit: (
    tensors: { name: string; entry: TensorEntry; bytes: Buffer }[],
  ) => { name: string; entry: TensorEntry; bytes: Buffer }[],
): Promise<void> {
  const all = [...(await modelTensors(dir))].map(([name, t]) => ({ name, ...t }));
  const kept = edit(all);
  for (const f of readdirSync(dir))
    if (f.endsWith(".safetensors") || f === INDEX_FILE) unlinkSync(join(dir, f));
  const tensors: OutputTensor[] = kept.map((t) => ({
    name: t.name,
    dtype: t.entry.dtype,
    shape: t.entry.shape,
    byteLength: t.bytes.length,
    write: (sink) => sink.write(t.bytes),
  }));
  await writeShards(dir, tensors, { shardBytes: Infinity });
  renameSync(join(dir, shardName(0, 1)), join(dir, "model.safetensors"));
  unlinkSync(join(dir, INDEX_FILE));
}

/** A deep copy of a model's parameters (steps replace their maps' tensors, never modify them). */
export function cloneParams(m: Map<string, HostTensor>): Map<string, HostTensor> {
  return new Map([...m].map(([k, v]) => [k, { ...v, data: (v.data as Float32Array).slice() } as HostTensor]));
}

/** The largest absolute difference between same-named tensors of two parameter maps. */
export function maxParamDiff(a: Map<string, HostTensor>, b: Map<string, HostTensor>): number {
  let worst = 0;
  for (const [k, v] of a) {
    const x = v.data as Float32Array;
    const y = b.get(k)!.data as Float32Array;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
  }
  return worst;
}
