// deepen seam and upscale --drop auto through the CLI: the report folder, its recipe.yml run by
// upscale --recipe, and one-line errors.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { encodeFloats } from "../../src/checkpoint/dtype.js";
import { editTensors, fixture, readJson, runCli, tempDir } from "../helpers.js";

const root = tempDir();
const data = join(root, "sample.txt");
writeFileSync(
  data,
  "Depth up-scaling copies a model, drops layers at the seam, and stacks the copies; healing follows. ".repeat(
    2,
  ),
);
const sample = ["--data", data, "--tokens", "64", "--context", "16"];

// Six layers, 3 and 4 the identity: the cheapest 8-layer seam is a = 5, b = 3 (not symmetric).
const base = await fixture(root, { family: "llama", layers: 6, dtype: "F32" });
const writers = [3, 4].flatMap((l) => [
  `model.layers.${l}.self_attn.o_proj.weight`,
  `model.layers.${l}.mlp.down_proj.weight`,
]);
await editTensors(base, (ts) =>
  ts.map((t) => {
    if (!writers.includes(t.name)) return t;
    const bytes = Buffer.alloc(t.bytes.length);
    encodeFloats(t.entry.dtype, new Float32Array(t.bytes.length / 4), bytes);
    return { ...t, bytes };
  }),
);

const layerMap = (json: string) =>
  (JSON.parse(json) as { layer_map: { layer: number }[] }).layer_map.map((l) => l.layer);

test("seam -o writes the report folder; its recipe.yml runs through upscale --recipe and gives the reported plan", () => {
  const out = join(root, "report");
  const r = runCli(["seam", base, ...sample, "--size", "8", "-o", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /recommended for 8 layers:\n {2}two slices, layers \[0, 5\) then \[3, 6\): 8 layers, seam layer 4 -> layer 3, distance 0\.0000/,
  );
  assert.match(r.stdout, /the symmetric plan of that size: DUS with m = 2/);
  assert.match(r.stdout, /heuristic/);
  for (const f of [
    "seam.json",
    "heatmap.svg",
    "heatmap.png",
    "block-influence.svg",
    "block-influence.png",
    "recipe.yml",
  ])
    assert.ok(existsSync(join(out, f)), f);
  const report = readJson(join(out, "seam.json")) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.deepEqual([report.recommended.a, report.recommended.b, report.size], [5, 3, 8]);
  assert.equal(report.angular_distance.mean.length, 7);
  assert.equal(report.block_influence.length, 6);
  assert.equal(report.dus.length, 6);
  assert.match(readFileSync(join(out, "heatmap.svg"), "utf8"), /^<svg/);
  const planned = runCli(["upscale", "--recipe", join(out, "recipe.yml"), "--dry-run", "--json"]);
  assert.equal(planned.code, 0, planned.stderr);
  assert.deepEqual(layerMap(planned.stdout), [0, 1, 2, 3, 4, 3, 4, 5]);

  // Without --force the folder is not replaced; with it, it is (a seam report is deepen's own output).
  const again = runCli(["seam", base, ...sample, "-o", out]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^deepen: output .*report exists; pass --force to replace it\n$/);
  assert.equal(runCli(["seam", base, ...sample, "-o", out, "--force", "--json"]).code, 0);
});

test("upscale --drop auto measures, says what it measured, and writes the recommended plan", () => {
  const out = join(root, "grown");
  const r = runCli(["upscale", base, "--drop", "auto", ...sample, "--size", "8", "-o", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^seam measured on 64 tokens of .*sample\.txt \(angular distance between the hidden states the seam joins\): two slices, layers \[0, 5\) then \[3, 6\)/,
  );
  assert.equal(readJson(join(out, "config.json")).num_hidden_layers, 8);
  const lineage = readJson(join(out, "deepen.json")) as { layer_map: { layer: number }[] };
  assert.deepEqual(
    lineage.layer_map.map((l) => l.layer),
    [0, 1, 2, 3, 4, 3, 4, 5],
  );
  const chosen = (readJson(join(out, "deepen.json")).recipe as { chosen_by: Record<string, unknown> })
    .chosen_by;
  assert.deepEqual([chosen.a, chosen.b, chosen.tokens], [5, 3, 64]);
  assert.match(
    readFileSync(join(out, "README.md"), "utf8"),
    /Cut chosen by `deepen seam` on 64 tokens of .*: source layer 4 feeds source layer 3/,
  );
  // Where the recommendation is symmetric, it is DUS with that m.
  const plain = upscaleJson([
    "upscale",
    base,
    "--drop",
    "auto",
    ...sample,
    "--size",
    "12",
    "--dry-run",
    "--json",
  ]);
  assert.equal(plain.method, "dus");
  assert.equal(plain.seam.m, 0);
});

function upscaleJson(args: string[]) {
  const r = runCli(args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { method: string; seam: { m: number | null } };
}

test("bad input is one line: no --data, a sample shorter than a sequence, an unreachable --size, --data without --drop auto, a GGUF file", () => {
  const oneLine = (args: string[], re: RegExp, code = 2) => {
    const r = runCli(args);
    assert.equal(r.code, code, r.stderr);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  };
  oneLine(["seam", base], /^deepen: missing --data/);
  oneLine(
    ["seam", base, "--data", data, "--tokens", "8", "--context", "16"],
    /--tokens 8: shorter than one sequence of 16 tokens/,
  );
  oneLine(
    ["seam", base, ...sample, "--size", "13"],
    /--size 13: no two-slice plan of a 6-layer base has 13 layers; reachable sizes are 6 to 12/,
  );
  oneLine(["seam", base, ...sample, "--size", "4"], /--size 4: below the base's depth/);
  oneLine(
    ["upscale", base, "--drop", "2", "--data", data, "--dry-run"],
    /--data, --size, --context and --batch go with --drop auto/,
  );
  oneLine(["upscale", base, "--drop", "auto", "--dry-run"], /--drop auto needs --data/);
  const gguf = join(root, "m.gguf");
  mkdirSync(root, { recursive: true });
  writeFileSync(gguf, Buffer.from("GGUF\x03\x00\x00\x00"));
  oneLine(["seam", gguf, ...sample], /cannot be measured .*surgery still works with an explicit --drop/, 1);
});
