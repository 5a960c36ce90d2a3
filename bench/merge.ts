// npm run bench:merge [-- --shape 1b|7b] [--reps N] [--only linear|ties] [--compare CLI.js] [--dir D --keep --reuse]
// A two-model linear merge and a three-model TIES merge of synthetic bf16 checkpoints, each in its
// own process (peak RSS is its own): wall time and peak RSS, against the I/O floor measured in the
// same run: reading every input (cat > /dev/null) plus writing the output's bytes (cp of one input).
// Page caches are dropped before each timed step where permitted; each step ends with sync.
// --compare times another build's CLI (e.g. a copy of an older dist/src/cli/main.js) on the same
// inputs in the same run, so that two builds are compared under the same machine load.
// --keep leaves the checkpoints in --dir; --reuse takes them from there instead of writing them again.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { arg, CHECKPOINT_SHAPES, dropCaches, median } from "./common.js";
import { writeSyntheticModel } from "../test/fixtures/syntheticModel.js";

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, "..", "src", "cli", "main.js");
const shapeName = arg("shape", "1b");
const shape = CHECKPOINT_SHAPES[shapeName];
if (!shape) throw new Error(`--shape ${shapeName}: expected 1b or 7b`);

// Child mode: write one checkpoint. Each model is written by its own process because the "repeat"
// fill caches its random block per process: written in one process, the three models would hold the
// same bytes (every task vector zero, which is not a merge worth timing).
if (process.argv.includes("--write-model")) {
  await writeSyntheticModel(arg("write-model", ""), {
    family: "llama",
    layers: shape.layers,
    dims: shape.dims,
    dtype: "BF16",
    fill: "repeat",
    seed: Number(arg("seed", "0")),
  });
  process.exit(0);
}

const reps = Number(arg("reps", "1"));
const only = arg("only", "");
const compare = arg("compare", "");
const work = arg("dir", join(tmpdir(), "deepen-bench-merge"));
const reuse = process.argv.includes("--reuse");

/** Runs a command to completion, then sync; returns seconds and the child's peak RSS (GNU time when present). */
function timed(cmd: string, args: string[]): { seconds: number; rssMiB?: number } {
  const useTime = spawnSync("/usr/bin/time", ["--version"]).status === 0;
  const t0 = performance.now();
  const r = useTime
    ? spawnSync("/usr/bin/time", ["-f", "RSS_KB=%M", cmd, ...args], { encoding: "utf8", maxBuffer: 1 << 24 })
    : spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  spawnSync("sync");
  const seconds = (performance.now() - t0) / 1000;
  const m = /RSS_KB=(\d+)/.exec(r.stderr ?? "");
  return { seconds, rssMiB: m ? Number(m[1]) / 1024 : undefined };
}

const models = ["a", "b", "c"].map((n) => join(work, n));
const done = join(work, `models-${shapeName}.done`);
if (!(reuse && existsSync(done))) {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  for (const [i, m] of models.entries()) {
    const r = spawnSync(
      process.execPath,
      [fileURLToPath(import.meta.url), "--shape", shapeName, "--write-model", m, "--seed", String(i)],
      { stdio: "inherit" },
    );
    if (r.status !== 0) throw new Error(`writing ${m} failed`);
  }
  writeFileSync(done, "");
}
console.log(`bench:merge  ${shape.label}, bf16, ${reps} rep(s), in ${work}`);
const shards = (m: string) =>
  readdirSync(m)
    .filter((f) => f.endsWith(".safetensors"))
    .map((f) => join(m, f));
const configs = {
  "linear, 2 models": `models:\n  - model: ${models[0]}\n    parameters:\n      weight: 0.5\n  - model: ${models[1]}\n    parameters:\n      weight: 0.5\nmerge_method: linear\n`,
  "TIES, 3 models": `models:\n  - model: ${models[1]}\n    parameters:\n      weight: 1.0\n      density: 0.5\n  - model: ${models[2]}\n    parameters:\n      weight: 1.0\n      density: 0.5\nbase_model: ${models[0]}\nmerge_method: ties\nparameters:\n  normalize: true\n`,
};
const clis: [string, string][] = [["", cli]];
if (compare) clis.push([` [${compare}]`, compare]);
let dropped = true;
for (const [label, yaml] of Object.entries(configs)) {
  if (only && !label.toLowerCase().startsWith(only.toLowerCase())) continue;
  const cfg = join(work, "merge.yml");
  writeFileSync(cfg, yaml);
  const inputs = label.startsWith("linear") ? models.slice(0, 2) : models;
  const merge = clis.map(() => [] as number[]);
  const rss = clis.map(() => 0);
  const io: number[] = [];
  for (let r = 0; r < reps; r++) {
    for (const [c, [, path]] of clis.entries()) {
      dropped = dropCaches() && dropped;
      const m = timed(process.execPath, [path, "merge", cfg, "-o", join(work, "out"), "--force"]);
      merge[c]!.push(m.seconds);
      rss[c] = Math.max(rss[c]!, m.rssMiB ?? 0);
      rmSync(join(work, "out"), { recursive: true, force: true });
    }
    dropped = dropCaches() && dropped;
    // The I/O floor: read every input, write one model's worth of bytes.
    const copy = join(work, "copy");
    mkdirSync(copy);
    const t = timed("bash", [
      "-c",
      `cat ${inputs.slice(1).flatMap(shards).join(" ")} > /dev/null && cp ${shards(inputs[0]!).join(" ")} ${copy}/`,
    ]);
    io.push(t.seconds);
    rmSync(copy, { recursive: true, force: true });
  }
  const mi = median(io);
  for (const [c, [tag]] of clis.entries()) {
    const mm = median(merge[c]!);
    console.log(
      `${label}${tag}: merge ${mm.toFixed(1)} s, I/O floor ${mi.toFixed(1)} s, ratio ${(mm / mi).toFixed(2)}x, peak RSS ${rss[c] ? rss[c].toFixed(0) + " MiB" : "n/a (no /usr/bin/time)"}`,
    );
  }
}
console.log(`(page caches ${dropped ? "dropped" : "NOT dropped (not root)"} before each step)`);
if (!process.argv.includes("--keep")) rmSync(work, { recursive: true, force: true });
