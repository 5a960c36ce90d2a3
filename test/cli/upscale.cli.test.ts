import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { writeSyntheticModel } from "../fixtures/syntheticModel.js";
import { DEFAULT_MODEL } from "../../src/demo/runDemo.js";
import { CLI, editTensors, fixture, readJson, runCli, tempDir } from "../helpers.js";

const root = tempDir();
const base = await fixture(root, { family: "mistral", layers: 8, shardBytes: 60_000 });

function folderHash(dir: string): string {
  const h = createHash("sha256");
  for (const f of readdirSync(dir).sort()) {
    h.update(f);
    h.update(readFileSync(join(dir, f)));
  }
  return h.digest("hex");
}

test("--dry-run --json prints the plan and writes nothing", () => {
  const out = join(root, "dry");
  const r = runCli(["upscale", base, "-o", out, "--dry-run", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.layers, 12);
  assert.equal(j.dry_run, true);
  assert.equal(j.layer_map.length, 12);
  assert.deepEqual(j.layer_map[6], { model: 0, layer: 2 });
  // 12 layers of a 64-wide model: embeddings + head 2·288·64, per layer 4 attention + 3 MLP matrices + 2 norms.
  const perLayer = 64 * 64 + 2 * 32 * 64 + 64 * 64 + 3 * 128 * 64 + 2 * 64;
  assert.equal(j.parameters, 2 * 288 * 64 + 64 + 12 * perLayer);
  assert.equal(existsSync(out), false);
});

test("upscale then inspect: the human report shows layers, parameters, shards and lineage", () => {
  const out = join(root, "grown");
  const before = folderHash(base);
  const r = runCli(["upscale", base, "-o", out, "--shard-size", "100KB"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\(MistralForCausalLM, 8 layers\) -> 12 layers/);
  assert.match(r.stdout, /0-5 <- mistral-\d+ 0-5\n {2}6-11 <- mistral-\d+ 2-7/);
  assert.equal(folderHash(base), before, "the input is untouched");
  const i = runCli(["inspect", out]);
  assert.equal(i.code, 0, i.stderr);
  assert.match(i.stdout, /architecture: MistralForCausalLM \(family mistral\)/);
  assert.match(i.stdout, /layers: 12/);
  assert.match(i.stdout, /layers 0-11: 9 tensors each/);
  assert.match(i.stdout, /lineage:\n {2}dus by deepen .* from mistral-\d+ \(8 layers\) -> 12 layers/);
  const j = JSON.parse(runCli(["inspect", out, "--json"]).stdout);
  assert.equal(j.layers, 12);
  assert.ok(j.shards.length > 1);
  assert.equal(j.lineage.recipe.m, 2);
  assert.match(
    readFileSync(join(out, "README.md"), "utf8"),
    /deepen upscale .* -o .*grown --shard-size 100KB/,
  );
});

test("an existing output needs --force, which replaces it whole", () => {
  const out = join(root, "exists");
  assert.equal(runCli(["upscale", base, "-o", out, "--drop", "3"]).code, 0);
  writeFileSync(join(out, "stale.txt"), "from before");
  const r = runCli(["upscale", base, "-o", out]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `deepen: output ${out} exists; pass --force to replace it\n`);
  assert.equal(readFileSync(join(out, "stale.txt"), "utf8"), "from before");
  const f = runCli(["upscale", base, "-o", out, "--force"]);
  assert.equal(f.code, 0, f.stderr);
  assert.equal(existsSync(join(out, "stale.txt")), false);
  assert.equal(readJson(join(out, "config.json")).num_hidden_layers, 12);
});

/** A bad input: exit non-zero, one line on stderr matching `pattern`, and nothing left beside the target. */
function fails(args: string[], pattern: RegExp, code = 1) {
  const parent = join(root, "fail-" + Math.random().toString(36).slice(2));
  mkdirSync(parent);
  const out = join(parent, "out");
  const r = runCli([...args.map((a) => (a === "OUT" ? out : a))]);
  assert.equal(r.code, code, `exit code for ${args.join(" ")}: ${r.stderr}`);
  assert.equal(r.stderr.trimEnd().split("\n").length, 1, `one line: ${r.stderr}`);
  assert.match(r.stderr, /^deepen: /);
  assert.match(r.stderr, pattern);
  assert.deepEqual(readdirSync(parent), [], "no output and no temporary folder left");
}

async function broken(edit: (dir: string) => void | Promise<void>): Promise<string> {
  const dir = await fixture(root, { family: "llama", layers: 4, shardBytes: 30_000 });
  await edit(dir);
  return dir;
}

test("bad inputs: one line, non-zero exit, nothing written", async () => {
  const noConfig = await broken((d) => writeFileSync(join(d, "config.json"), ""));
  fails(["upscale", noConfig, "-o", "OUT"], /config\.json: not valid JSON/);
  const missing = join(root, "nowhere");
  fails(["upscale", missing, "-o", "OUT"], /nowhere: no such folder/);
  const firstShard = (d: string) =>
    join(
      d,
      readdirSync(d)
        .filter((f) => f.endsWith(".safetensors"))
        .sort()[0]!,
    );
  const truncated = await broken((d) => truncateSync(firstShard(d), statSync(firstShard(d)).size - 10));
  fails(
    ["upscale", truncated, "-o", "OUT"],
    /model-00001-of-\d+\.safetensors: tensor .* run past the end of the data .* file truncated\?/,
  );
  const hugeHeader = await broken((d) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(1n << 60n);
    writeFileSync(firstShard(d), b);
  });
  fails(["upscale", hugeHeader, "-o", "OUT"], /header length \d+ exceeds the 100000000-byte limit/);
  const notJson = await broken((d) => {
    const b = Buffer.alloc(16, 0x41);
    b.writeBigUInt64LE(8n);
    writeFileSync(firstShard(d), b);
  });
  fails(["upscale", notJson, "-o", "OUT"], /header is not valid JSON/);
  const missingLayer = await broken((d) =>
    editTensors(d, (ts) => ts.filter((t) => t.name !== "model.layers.3.self_attn.k_proj.weight")),
  );
  fails(
    ["upscale", missingLayer, "-o", "OUT"],
    /layer 3 is missing tensor model\.layers\.3\.self_attn\.k_proj\.weight/,
  );
  fails(["upscale", base, "-o", "OUT", "--drop", "8"], /--drop 8: need 0 <= m < n = 8/, 2);
  fails(["upscale", base, "-o", "OUT", "--drop", "-1"], /--drop -1: expected a non-negative integer/, 2);
  fails(["upscale", base, "-o", "OUT", "--dtype", "int8"], /--dtype int8: expected one of bf16, f16, f32/, 2);
  fails(["upscale", base, "-o", "OUT", "--shard-size", "lots"], /--shard-size lots: expected a size/, 2);
  fails(["upscale", base], /missing -o\/--out/, 2);
  const unknownArch = await broken((d) => {
    const c = readJson(join(d, "config.json"));
    writeFileSync(join(d, "config.json"), JSON.stringify({ ...c, architectures: ["MambaForCausalLM"] }));
  });
  fails(["upscale", unknownArch, "-o", "OUT"], /architecture \["MambaForCausalLM"\] is not supported/);
});

test("an output inside the input folder, or containing it, is refused", () => {
  const r = runCli(["upscale", base, "-o", join(base, "grown")]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /is inside the input folder/);
  assert.equal(existsSync(join(base, "grown")), false);
  const up = runCli(["upscale", base, "-o", root, "--force"]);
  assert.equal(up.code, 1);
  assert.match(up.stderr, /contains the input folder/);
  assert.ok(existsSync(join(base, "config.json")));
});

test("a recipe with a layer_range outside its model, via the CLI", () => {
  const p = join(root, "r.yml");
  writeFileSync(
    p,
    `slices:\n  - sources:\n      - model: ${base}\n        layer_range: [4, 9]\nmerge_method: passthrough\n`,
  );
  fails(
    ["upscale", "--recipe", p, "-o", "OUT"],
    /r\.yml: slices\[0\]\.sources\[0\]\.layer_range \[4, 9\) is outside .*, which has 8 layers/,
  );
});

// A real full disk: a 1 MiB tmpfs. Mounting needs root; elsewhere the test says why it skips.
const canMount = process.getuid?.() === 0 && spawnSync("mount", ["--version"]).status === 0;
test(
  "the disk filling up mid-write leaves nothing behind",
  { skip: canMount ? false : "needs root to mount a small tmpfs" },
  async (t) => {
    const big = await fixture(root, { family: "llama", layers: 8, dims: { hidden: 128, intermediate: 256 } });
    const mnt = join(root, "small-disk");
    mkdirSync(mnt);
    const m = spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt]);
    if (m.status !== 0) return t.skip(`mount failed: ${m.stderr}`);
    try {
      const r = runCli(["upscale", big, "-o", join(mnt, "out")]);
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        `deepen: no space left on the device while writing ${join(mnt, "out")} (partial output removed)\n`,
      );
      assert.deepEqual(readdirSync(mnt), []);
    } finally {
      spawnSync("umount", [mnt]);
    }
  },
);

test("the README's upscale of the embedded deepen-tiny: 8 -> 12 layers, seam 5 -> 2", () => {
  const out = join(root, "tiny-grown");
  const r = runCli(["upscale", DEFAULT_MODEL, "-o", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readJson(join(out, "config.json")).num_hidden_layers, 12);
  assert.match(r.stdout, /0-5 <- deepen-tiny 0-5\n\s+6-11 <- deepen-tiny 2-7/);
});

test("inspect still reports a model whose architecture has no table row", async () => {
  const dir = await broken((d) => {
    const c = readJson(join(d, "config.json"));
    writeFileSync(join(d, "config.json"), JSON.stringify({ ...c, architectures: ["MambaForCausalLM"] }));
  });
  const r = runCli(["inspect", dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /architecture: MambaForCausalLM \(no deepen table row\)/);
  assert.match(r.stdout, /model\.layers\.3\.mlp\.down_proj\.weight {2}BF16 \[64, 128\]/);
});

test("Ctrl-C mid-write exits 130 and removes the partial output", async () => {
  // Big enough (about 360 MB out) that the write is still running when the signal lands.
  const big = join(root, "big");
  await writeSyntheticModel(big, {
    family: "llama",
    layers: 8,
    dims: { hidden: 1024, intermediate: 4096, heads: 8, kvHeads: 4, headDim: 128 },
    fill: "repeat",
  });
  const parent = join(root, "interrupted");
  mkdirSync(parent);
  const child = spawn(process.execPath, [CLI, "upscale", big, "-o", join(parent, "out")], {
    stdio: "ignore",
  });
  const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
  // Wait until the temporary folder holds a shard, then interrupt.
  for (let i = 0; i < 500; i++) {
    const tmp = readdirSync(parent).find((f) => f.includes(".deepen-tmp-"));
    if (tmp && readdirSync(join(parent, tmp)).some((f) => f.endsWith(".safetensors"))) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  child.kill("SIGINT");
  assert.equal(await exited, 130);
  assert.deepEqual(readdirSync(parent), []);
  rmSync(big, { recursive: true, force: true });
});

test("command-line parse errors are one line with exit status 2", () => {
  for (const [args, re] of [
    [["upscale", base, "--bogus"], /^deepen: unknown option '--bogus'/],
    [["train", "pretrain", "--model", base], /^deepen: required option '-o, --out <dir>' not specified/],
    [["frobnicate"], /^deepen: unknown command 'frobnicate'/],
  ] as const) {
    const r = runCli([...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, re);
  }
});

test("a --drop that makes the model shallower than its base says so on stderr", async () => {
  const base = await fixture(tempDir(), { family: "llama", layers: 8, dtype: "F32" });
  const r = runCli(["upscale", base, "--drop", "6", "--dry-run"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /note: --drop 6 is more than half of the base's 8 layers: the output has 4 layers, fewer than its base/,
  );
  assert.doesNotMatch(r.stdout, /note:/);
  const fine = runCli(["upscale", base, "--drop", "2", "--dry-run"]);
  assert.equal(fine.stderr, "");
});

/** Rewrites a safetensors file's header text, keeping its data; `lengthDelta` misstates the header length. */
function rewriteHeader(file: string, edit: (json: string) => string, lengthDelta = 0) {
  const buf = readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const json = Buffer.from(edit(buf.subarray(8, 8 + n).toString("utf8")));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length + lengthDelta));
  writeFileSync(file, Buffer.concat([len, json, buf.subarray(8 + n)]));
}

test("hostile inputs (issue 15): refused with one line before anything is written, the input unchanged", async () => {
  const firstShard = (d: string) =>
    join(
      d,
      readdirSync(d)
        .filter((f) => f.endsWith(".safetensors"))
        .sort()[0]!,
    );
  const config = (extra: Record<string, unknown>) => (d: string) =>
    writeFileSync(join(d, "config.json"), JSON.stringify({ ...readJson(join(d, "config.json")), ...extra }));
  const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
  const cases: [(d: string) => void | Promise<void>, RegExp][] = [
    // Tensors that do not match the architecture: layers that agree with each other are not enough.
    [
      (d) => editTensors(d, (ts) => ts.filter((t) => t.name !== "model.norm.weight")),
      /has no tensor model\.norm\.weight, which LlamaForCausalLM needs/,
    ],
    [
      (d) => editTensors(d, (ts) => ts.filter((t) => !t.name.endsWith(".input_layernorm.weight"))),
      /has no tensor model\.layers\.0\.input_layernorm\.weight, which LlamaForCausalLM needs \(and 3 more\)/,
    ],
    // Sizes that no longer describe the tensors: the output would carry a config no loader can use.
    [
      config({ num_attention_heads: 8 }),
      /model\.layers\.0\.self_attn\.q_proj\.weight is \[\d+, \d+\], but config\.json's sizes make it \[\d+, \d+\]\n$/,
    ],
    [
      config({ tie_word_embeddings: "no" }),
      /config\.json: tie_word_embeddings must be true or false, got "no"\n$/,
    ],
    [
      config({ layer_types: "full_attention" }),
      /config\.json: layer_types must list one value per layer, got "full_attention"\n$/,
    ],
    // Layer counts: past the named limit (the heap ran out), past the layers present.
    [config({ num_hidden_layers: 1e9 }), /num_hidden_layers = 1000000000 is over the 1024-layer limit/],
    [config({ num_hidden_layers: 6 }), /num_hidden_layers = 6, but the weights hold layers 0-3 only/],
    // Nesting: config.json's architectures 100,000 deep, a header's shape 100,000 deep.
    [
      (d) => writeFileSync(join(d, "config.json"), `{"architectures":${deep(100_000)}}`),
      /config\.json: nests deeper than 64 levels at character 80\n/,
    ],
    [
      (d) =>
        rewriteHeader(
          firstShard(d),
          () => `{"w":{"dtype":"F32","shape":${deep(100_000)},"data_offsets":[0,0]}}`,
        ),
      /model-00001-of-\d+\.safetensors: header nests deeper than 3 levels/,
    ],
    // Headers that do not describe their data: one byte short, a tensor named twice, a tensor dropped.
    [
      (d) => rewriteHeader(firstShard(d), (j) => j + " ", -1),
      /model-00001-of-\d+\.safetensors: no tensor covers the last 1 byte of the data section/,
    ],
    [
      (d) =>
        rewriteHeader(firstShard(d), (j) => {
          const [name, entry] = Object.entries(JSON.parse(j) as Record<string, unknown>).find(
            ([k]) => k !== "__metadata__",
          )!;
          return `{${JSON.stringify(name)}:${JSON.stringify(entry)},${j.slice(1)}`;
        }),
      /model-00001-of-\d+\.safetensors: header repeats the key "model\.[^"]+"/,
    ],
    [
      (d) => {
        // The final norm, gone from its shard's header and from the index (its bytes stay).
        const indexFile = join(d, "model.safetensors.index.json");
        const index = readJson(indexFile) as { weight_map: Record<string, string> };
        rewriteHeader(join(d, index.weight_map["model.norm.weight"]!), (j) => {
          const h = JSON.parse(j) as Record<string, unknown>;
          delete h["model.norm.weight"];
          return JSON.stringify(h);
        });
        delete index.weight_map["model.norm.weight"];
        writeFileSync(indexFile, JSON.stringify(index));
      },
      /model-\d+-of-\d+\.safetensors: no tensor covers the (last|first)? ?\d+ bytes? of the data section/,
    ],
  ];
  for (const [edit, pattern] of cases) {
    const dir = await broken(edit);
    const before = folderHash(dir);
    fails(["upscale", dir, "-o", "OUT"], pattern);
    assert.doesNotMatch(runCli(["inspect", dir]).stderr, /unexpected/);
    assert.equal(folderHash(dir), before, "the input is unchanged");
  }
});
