import assert from "node:assert/strict";
import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { INDEX_FILE, openModelFolder } from "../../src/checkpoint/modelFolder.js";
import { CheckpointError } from "../../src/errors.js";
import { fixture, readJson, tempDir } from "../helpers.js";

const root = tempDir();

test("opens a sharded folder: every tensor, in the shard the index names", async () => {
  const dir = await fixture(root, { family: "llama", layers: 2, shardBytes: 20_000 });
  const m = await openModelFolder(dir);
  assert.ok(m.shards.length > 1, "fixture is sharded");
  const index = readJson(join(dir, INDEX_FILE)) as { weight_map: Record<string, string> };
  assert.equal(m.tensors.size, Object.keys(index.weight_map).length);
  for (const [name, file] of Object.entries(index.weight_map))
    assert.equal(m.tensors.get(name)!.file, join(dir, file));
  assert.equal(m.config.num_hidden_layers, 2);
});

test("opens a single model.safetensors without an index", async () => {
  const dir = await fixture(root, { family: "llama", layers: 2, layout: "single" });
  const m = await openModelFolder(dir);
  assert.deepEqual(m.shards, [join(dir, "model.safetensors")]);
  assert.ok(m.tensors.has("model.layers.1.mlp.down_proj.weight"));
});

async function rejects(p: Promise<unknown>, pattern: RegExp) {
  await assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof CheckpointError, `${e.name}: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test("a missing or invalid config.json is named", async () => {
  const dir = await fixture(root, { family: "llama", layers: 1 });
  writeFileSync(join(dir, "config.json"), "{ nope");
  await rejects(openModelFolder(dir), /config\.json: not valid JSON/);
  rmSync(join(dir, "config.json"));
  await rejects(
    openModelFolder(dir),
    /config\.json: missing: a Hugging Face model folder needs config\.json/,
  );
});

test("an index naming a missing shard, or a tensor its shard lacks", async () => {
  const dir = await fixture(root, { family: "llama", layers: 2, shardBytes: 20_000 });
  const indexPath = join(dir, INDEX_FILE);
  const index = JSON.parse(readFileSync(indexPath, "utf8"));
  const original = JSON.stringify(index);
  index.weight_map["model.layers.9.extra.weight"] = index.weight_map["model.norm.weight"];
  writeFileSync(indexPath, JSON.stringify(index));
  await rejects(
    openModelFolder(dir),
    /index\.json: tensor model\.layers\.9\.extra\.weight is not in its shard/,
  );
  writeFileSync(indexPath, original);
  const second = [...new Set(Object.values(index.weight_map as Record<string, string>))][1]!;
  renameSync(join(dir, second), join(dir, second + ".gone"));
  await rejects(
    openModelFolder(dir),
    new RegExp(`index\\.json: names shard ${second.replace(/\./g, "\\.")}, which is missing`),
  );
});

test("a folder without safetensors weights", async () => {
  const dir = join(root, "empty");
  mkdirSync(dir);
  writeFileSync(join(dir, "config.json"), "{}");
  await rejects(openModelFolder(dir), /no \*\.safetensors weights/);
});

test("a Hugging Face cache folder opens the snapshot refs/main points at, also by ORG/NAME", async () => {
  const hub = join(root, "hub");
  const repo = join(hub, "models--acme--tiny");
  const snap = join(repo, "snapshots", "abc123".padEnd(40, "0"));
  mkdirSync(join(repo, "refs"), { recursive: true });
  mkdirSync(join(repo, "snapshots", "old999".padEnd(40, "0")), { recursive: true });
  // The cache keeps files as blobs and snapshot entries as symlinks to them.
  const blobs = await fixture(root, { family: "llama", layers: 1, layout: "single" });
  mkdirSync(snap, { recursive: true });
  for (const f of ["config.json", "model.safetensors"]) symlinkSync(join(blobs, f), join(snap, f));
  writeFileSync(join(repo, "refs", "main"), `${"abc123".padEnd(40, "0")}\n`);
  const m = await openModelFolder(repo);
  assert.equal(m.dir, snap);
  assert.equal(m.name, "acme/tiny");
  const prev = { cache: process.env.HF_HUB_CACHE, offline: process.env.HF_HUB_OFFLINE };
  process.env.HF_HUB_CACHE = hub;
  process.env.HF_HUB_OFFLINE = "1"; // a model missing from the cache would otherwise be downloaded
  try {
    assert.equal((await openModelFolder("acme/tiny")).dir, snap);
    await assert.rejects(
      openModelFolder("acme/absent"),
      /acme\/absent: not in the Hugging Face cache at .*, and HF_HUB_OFFLINE is set/,
    );
  } finally {
    for (const [k, v] of [
      ["HF_HUB_CACHE", prev.cache],
      ["HF_HUB_OFFLINE", prev.offline],
    ] as const)
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
  writeFileSync(join(repo, "refs", "main"), `${"f".repeat(40)}\n`);
  await rejects(openModelFolder(repo), /refs\/main: points at snapshot f{40}/);
});

test("config.json and the index: nesting past the limit is refused while parsing; long values stay out of messages", async () => {
  const dir = await fixture(root, { family: "llama", layers: 1, shardBytes: 20_000 });
  const configPath = join(dir, "config.json");
  const config = readFileSync(configPath, "utf8");
  // 10,000 levels: JSON.parse builds them; anything that later serialises the config overflows the stack.
  writeFileSync(configPath, `{"architectures":${"[".repeat(10_000)}${"]".repeat(10_000)}}`);
  await rejects(openModelFolder(dir), /config\.json: nests deeper than 64 levels at character 80$/);
  writeFileSync(configPath, config);
  const indexPath = join(dir, INDEX_FILE);
  const index = JSON.parse(readFileSync(indexPath, "utf8"));
  index.weight_map["model.norm.weight"] = "../".repeat(100_000);
  writeFileSync(indexPath, JSON.stringify(index));
  await assert.rejects(openModelFolder(dir), (e: Error) => {
    assert.match(e.message, /tensor model\.norm\.weight maps to "[./]+…, not a shard file name$/);
    return e.message.length < 300;
  });
});
