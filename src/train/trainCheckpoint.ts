// A training checkpoint is a standard Hugging Face model folder (float32 weights, config, tokenizer,
// card, lineage) that loads anywhere, with what resuming needs beside it: trainer_state.json (step,
// data position, the run's fingerprint) and optimizer.safetensors (AdamW moments). It is written
// into a temporary folder and renamed, so resume never sees a half-written one.
import { existsSync, readdirSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { withAtomicOutput } from "../checkpoint/atomicOutput.js";
import { writeFolderFiles } from "../checkpoint/folderFiles.js";
import { parseJsonFile } from "../checkpoint/jsonFile.js";
import type { Lineage } from "../checkpoint/lineage.js";
import type { ModelConfig } from "../checkpoint/modelFolder.js";
import { readSafetensorsHeader } from "../checkpoint/safetensorsHeader.js";
import { type OutputTensor, readTensorCopy, StreamContext } from "../checkpoint/tensorStream.js";
import { writeSafetensorsFile, writeShards } from "../checkpoint/writeShards.js";
import { CheckpointError } from "../errors.js";
import type { HostTensor } from "../runtime/session.js";
import type { OptimizerState } from "./engineStep.js";
import type { EvalResult } from "./loop.js";
import type { DataPosition } from "./objective.js";

export const TRAINER_STATE_FILE = "trainer_state.json";
export const OPTIMIZER_FILE = "optimizer.safetensors";
export const CHECKPOINT_PREFIX = "checkpoint-";
/** 2: objective and data_position (format 1, pretraining only, kept epoch and cursor at the top). */
export const TRAINER_STATE_FORMAT = 2;
/** trainer_state.json is a few KB; refuse to parse anything that could not be one. */
const MAX_STATE_BYTES = 16 * 1024 * 1024;

/**
 * What must match for a resumed run to continue the same run: the scaffold's (base config, batch,
 * accumulation, trained parameters, seed) and the objective's (data, sequence length…).
 */
export type RunFingerprint = Record<string, string | number>;

export interface TrainerState {
  format: number;
  /** The objective that trained it: "pretrain", "sft", "dpo". */
  objective: string;
  step: number;
  tokens_seen: number;
  /** Where the objective's data stands (pretraining: the epoch and the index into its shuffled order). */
  data_position: DataPosition;
  skipped_nonfinite: number;
  finished: boolean;
  fingerprint: RunFingerprint;
  last_eval?: EvalResult;
  /** The settings of the run, for the card and for people. */
  settings: Record<string, unknown>;
}

export const checkpointName = (step: number) => `${CHECKPOINT_PREFIX}${String(step).padStart(6, "0")}`;

function hostTensor(name: string, t: HostTensor): OutputTensor {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return {
    name,
    dtype: "F32",
    shape: [...t.shape],
    byteLength: bytes.byteLength,
    write: (sink) => sink.write(bytes),
  };
}

export interface SaveCheckpointInput {
  /** The model folder whose tokenizer files the checkpoint carries. */
  sourceDir: string;
  config: ModelConfig;
  params: Map<string, HostTensor>;
  optimizer: OptimizerState;
  state: TrainerState;
  card: string;
  lineage: Lineage;
}

export async function saveCheckpoint(dir: string, c: SaveCheckpointInput): Promise<void> {
  await withAtomicOutput(dir, { force: true }, async (tmp) => {
    const names = [...c.params.keys()].sort();
    await writeShards(
      tmp,
      names.map((n) => hostTensor(n, c.params.get(n)!)),
    );
    await writeFolderFiles(tmp, {
      config: { ...c.config, torch_dtype: "float32" },
      carryFrom: c.sourceDir,
      lineage: c.lineage,
      card: c.card,
    });
    const moments: OutputTensor[] = [];
    for (const n of [...c.optimizer.m.keys()].sort()) {
      moments.push(hostTensor(`m/${n}`, c.optimizer.m.get(n)!), hostTensor(`v/${n}`, c.optimizer.v.get(n)!));
    }
    const io = new StreamContext();
    try {
      await writeSafetensorsFile(join(tmp, OPTIMIZER_FILE), moments, io);
    } finally {
      await io.close();
    }
    await writeFile(join(tmp, TRAINER_STATE_FILE), JSON.stringify(c.state, null, 2) + "\n");
  });
}

export async function readTrainerState(dir: string): Promise<TrainerState> {
  const file = join(dir, TRAINER_STATE_FILE);
  if (!existsSync(file)) throw new CheckpointError(file, "missing: not a deepen training checkpoint");
  const text = await readFile(file, "utf8");
  if (text.length > MAX_STATE_BYTES) throw new CheckpointError(file, "too large to be a trainer state");
  let state = parseJsonFile(file, text) as TrainerState;
  if (!isObject(state)) throw new CheckpointError(file, "not a JSON object");
  if (state.format === 1) {
    // Written before objectives existed: a pretraining run whose data position sat at the top.
    const old = state as unknown as { epoch: number; cursor: number };
    state = { ...state, objective: "pretrain", data_position: { epoch: old.epoch, cursor: old.cursor } };
  } else if (state.format !== TRAINER_STATE_FORMAT) {
    throw new CheckpointError(file, `format ${state.format}, expected ${TRAINER_STATE_FORMAT}`);
  }
  // Resume reads every one of these; a damaged file is named here, not met as a crash later.
  for (const key of ["step", "tokens_seen", "skipped_nonfinite"] as const) {
    if (!Number.isInteger(state[key]) || state[key] < 0)
      throw new CheckpointError(
        file,
        `${key} must be a non-negative integer, got ${JSON.stringify(state[key])}`,
      );
  }
  if (typeof state.objective !== "string") throw new CheckpointError(file, "objective must be a string");
  for (const key of ["fingerprint", "settings", "data_position"] as const) {
    if (!isObject(state[key])) throw new CheckpointError(file, `${key} must be a JSON object`);
  }
  return state;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The AdamW moments of a checkpoint. */
export async function readOptimizerState(dir: string, step: number): Promise<OptimizerState> {
  const file = join(dir, OPTIMIZER_FILE);
  const header = await readSafetensorsHeader(file);
  const io = new StreamContext();
  const m = new Map<string, HostTensor>();
  const v = new Map<string, HostTensor>();
  try {
    for (const [name, e] of header.tensors) {
      if (e.dtype !== "F32") throw new CheckpointError(file, `tensor ${name} is ${e.dtype}, expected F32`);
      const data = await readTensorCopy(io, e);
      const slash = name.indexOf("/");
      const kind = name.slice(0, slash);
      if (kind !== "m" && kind !== "v") throw new CheckpointError(file, `unexpected tensor ${name}`);
      (kind === "m" ? m : v).set(name.slice(slash + 1), { dtype: "float32", shape: e.shape, data });
    }
  } finally {
    await io.close();
  }
  return { step, m, v };
}

/** Checkpoint folders of a run, oldest first. Only complete ones exist: each appears by rename. */
export function listCheckpoints(out: string): string[] {
  if (!existsSync(out)) return [];
  return readdirSync(out)
    .filter((f) => /^checkpoint-\d{6,}$/.test(f) && existsSync(join(out, f, TRAINER_STATE_FILE)))
    .sort()
    .map((f) => join(out, f));
}

/** Removes all but the newest `keep` checkpoints. */
export async function pruneCheckpoints(out: string, keep: number): Promise<void> {
  const all = listCheckpoints(out);
  for (const dir of all.slice(0, Math.max(0, all.length - keep)))
    await rm(dir, { recursive: true, force: true });
}
