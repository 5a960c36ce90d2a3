// npm run bench:upscale [-- --shape 7b|1b] [--reps N] [--dir DIR]
// Builds a synthetic bf16 checkpoint shaped like Mistral-7B (or a 1.1B Llama), up-scales it by DUS
// (default m = n/4) and, in the same run, copies the output's bytes with cp: wall time, MB/s, peak
// RSS, and the ratio of the two. Page caches are dropped before each timed step where permitted,
// and every timed step ends with sync, so both sides pay for reading and for reaching the disk.
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { arg, CHECKPOINT_SHAPES, dropCaches, median, timed } from "./common.js";
import { writeSyntheticModel } from "../test/fixtures/syntheticModel.js";

const shapeName = arg("shape", "7b");
const shape = CHECKPOINT_SHAPES[shapeName];
if (!shape) throw new Error(`--shape ${shapeName}: expected ${Object.keys(CHECKPOINT_SHAPES).join(" or ")}`);
const reps = Number(arg("reps", shapeName === "7b" ? "1" : "3"));
const work = arg("dir", join(tmpdir(), "deepen-bench-upscale"));
const here = dirname(fileURLToPath(import.meta.url));

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const base = join(work, "base");
console.log(`bench:upscale  ${shape.label}, bf16, ${reps} rep(s), in ${work}`);
const t0 = performance.now();
await writeSyntheticModel(base, {
  family: "mistral",
  layers: shape.layers,
  dims: shape.dims,
  dtype: "BF16",
  fill: "repeat",
});
console.log(`built the base checkpoint in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const up: number[] = [];
const cp: number[] = [];
let bytes = 0;
let rss = 0;
let dropped = true;
for (let r = 0; r < reps; r++) {
  const out = join(work, "up");
  const copy = join(work, "copy");
  dropped = dropCaches() && dropped;
  const u = timed(process.execPath, [join(here, "upscaleChild.js"), base, out]);
  const res = JSON.parse(u.stdout) as { seconds: number; bytes: number; maxRssBytes: number };
  up.push(u.seconds);
  bytes = res.bytes;
  rss = Math.max(rss, res.maxRssBytes);
  dropped = dropCaches() && dropped;
  cp.push(timed("cp", ["-r", out, copy]).seconds);
  rmSync(copy, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
  console.log(
    `rep ${r + 1}: upscale ${up[r]!.toFixed(1)} s (peak RSS ${(res.maxRssBytes / 2 ** 20).toFixed(0)} MiB), cp ${cp[r]!.toFixed(1)} s`,
  );
}
if (!process.argv.includes("--keep")) rmSync(work, { recursive: true, force: true });

const gb = bytes / 1e9;
const mu = median(up);
const mc = median(cp);
console.log("");
console.log(`output          ${gb.toFixed(2)} GB (${bytes} bytes of tensors)`);
console.log(
  `deepen upscale  median ${mu.toFixed(1)} s  ${(bytes / 1e6 / mu).toFixed(0)} MB/s  peak RSS ${(rss / 2 ** 20).toFixed(0)} MiB`,
);
console.log(`cp -r (same bytes) median ${mc.toFixed(1)} s  ${(bytes / 1e6 / mc).toFixed(0)} MB/s`);
console.log(
  `ratio upscale / cp: ${(mu / mc).toFixed(2)}x   (page caches ${dropped ? "dropped" : "NOT dropped (not root)"} before each step)`,
);
if (existsSync(work)) console.log(`kept ${work}`);
