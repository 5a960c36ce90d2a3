// npm run bench:merge [-- --shape 1b|7b] [--reps N]
// A two-model linear merge and a three-model TIES merge of synthetic bf16 checkpoints, each in its
// own process (peak RSS is its own): wall time and peak RSS, against the I/O floor measured in the
// same run: reading every input (cat > /dev/null) plus writing the output's bytes (cp of one input).
// Page caches are dropped before each timed step where permitted; each step ends with sync.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { arg, CHECKPOINT_SHAPES, dropCaches, median } from "./common.js";
import { writeSyntheticModel } from "../src/synthetic/syntheticModel.js";

const shapeName = arg("shape", "1b");
const shape = CHECKPOINT_SHAPES[shapeName];
if (!shape) throw new Error(`--shape ${shapeName}: expected 1b or 7b`);
const reps = Number(arg("reps", "1"));
const work = arg("dir", join(tmpdir(), "deepen-bench-merge"));
const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, "..", "src", "cli", "main.js");

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

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
console.log(`bench:merge  ${shape.label}, bf16, ${reps} rep(s), in ${work}`);
const models = ["a", "b", "c"].map((n) => join(work, n));
for (const [i, m] of models.entries()) {
  await writeSyntheticModel(m, {
    family: "llama",
    layers: shape.layers,
    dims: shape.dims,
    dtype: "BF16",
    fill: "repeat",
    seed: i,
  });
}
const shards = (m: string) =>
  readdirSync(m)
    .filter((f) => f.endsWith(".safetensors"))
    .map((f) => join(m, f));
const configs = {
  "linear, 2 models": `models:\n  - model: ${models[0]}\n    parameters:\n      weight: 0.5\n  - model: ${models[1]}\n    parameters:\n      weight: 0.5\nmerge_method: linear\n`,
  "TIES, 3 models": `models:\n  - model: ${models[1]}\n    parameters:\n      weight: 1.0\n      density: 0.5\n  - model: ${models[2]}\n    parameters:\n      weight: 1.0\n      density: 0.5\nbase_model: ${models[0]}\nmerge_method: ties\nparameters:\n  normalize: true\n`,
};
let dropped = true;
for (const [label, yaml] of Object.entries(configs)) {
  const cfg = join(work, "merge.yml");
  writeFileSync(cfg, yaml);
  const inputs = label.startsWith("linear") ? models.slice(0, 2) : models;
  const merge: number[] = [];
  const io: number[] = [];
  let rss = 0;
  for (let r = 0; r < reps; r++) {
    dropped = dropCaches() && dropped;
    const m = timed(process.execPath, [cli, "merge", cfg, "-o", join(work, "out"), "--force"]);
    merge.push(m.seconds);
    rss = Math.max(rss, m.rssMiB ?? 0);
    rmSync(join(work, "out"), { recursive: true, force: true });
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
  const mm = median(merge);
  const mi = median(io);
  console.log(
    `${label}: merge ${mm.toFixed(1)} s, I/O floor ${mi.toFixed(1)} s, ratio ${(mm / mi).toFixed(2)}x, peak RSS ${rss ? rss.toFixed(0) + " MiB" : "n/a (no /usr/bin/time)"}`,
  );
}
console.log(`(page caches ${dropped ? "dropped" : "NOT dropped (not root)"} before each step)`);
if (!process.argv.includes("--keep")) rmSync(work, { recursive: true, force: true });
