// deepen download and Hub ids on the command line, against the fake Hub (the CLI runs as a child
// process, so it is spawned without blocking the server in this one).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { CLI, type CliResult, fixture, tempDir } from "../helpers.js";
import { contentHash } from "../../src/checkpoint/hub/contentHash.js";
import { commitOf, FakeHub, filesOf } from "../checkpoint/hub/fakeHub.js";
import { freshHubEnv } from "../checkpoint/hub/hubEnv.js";

const root = tempDir();
const model = await fixture(root, { family: "llama", layers: 2, layout: "single" });
const MAIN = commitOf("main");
const V1 = commitOf("v1");
const hub = new FakeHub();
hub.add("org/tiny", MAIN, filesOf(model, { "model.gguf": "GGUF weights", "pytorch_model.bin": "pickle" }));
hub.add("org/tiny", V1, filesOf(model), ["v1"]);
before(() => hub.start());
after(() => hub.stop());

function deepen(args: string[]): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], { env: process.env });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((ok) => child.on("close", (code) => ok({ code: code ?? -1, stdout, stderr })));
}

const snapshots = (home: string) => join(home, "hub", "models--org--tiny", "snapshots");

test("download prints the snapshot folder; inspect ORG/NAME then reads it from the cache alone", async () => {
  const home = freshHubEnv(root, hub.url);
  const r = await deepen(["download", "org/tiny"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${join(snapshots(home), MAIN)}\n`);
  assert.equal(r.stderr, "");
  assert.ok(!existsSync(join(snapshots(home), MAIN, "model.gguf")));
  const n = hub.requests.length;
  const i = await deepen(["inspect", "org/tiny"]);
  assert.equal(i.code, 0, i.stderr);
  assert.match(i.stdout, /LlamaForCausalLM/);
  assert.match(i.stdout, /layers: 2/);
  assert.equal(hub.requests.length, n, "no request for a cached model");
});

test("inspect ORG/NAME@REV downloads what is not cached; download --include and --revision", async () => {
  const home = freshHubEnv(root, hub.url);
  const i = await deepen(["inspect", "org/tiny@v1", "--json"]);
  assert.equal(i.code, 0, i.stderr);
  assert.equal(JSON.parse(i.stdout).layers, 2);
  assert.equal(readFileSync(join(home, "hub", "models--org--tiny", "refs", "v1"), "utf8"), V1);
  const d = await deepen(["download", "org/tiny", "--revision", MAIN, "--include", "*.gguf"]);
  assert.equal(d.code, 0, d.stderr);
  assert.equal(d.stdout.trim(), join(snapshots(home), MAIN));
  assert.match(readlinkSync(join(d.stdout.trim(), "model.gguf")), /^\.\.\/\.\.\/blobs\/[0-9a-f]{64}$/);
  assert.ok(!existsSync(join(d.stdout.trim(), "pytorch_model.bin")));
  assert.ok(
    !existsSync(join(home, "hub", "models--org--tiny", "refs", "main")),
    "a commit revision writes no ref",
  );
  const bad = await deepen(["download", "org/tiny@v1", "--revision", "main"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^deepen: org\/tiny@v1: revision @v1 and --revision main disagree\n$/);
});

test("--offline (anywhere on the line) makes no request: cached models open, missing ones are an error", async () => {
  freshHubEnv(root, hub.url);
  assert.equal((await deepen(["download", "org/tiny"])).code, 0);
  const n = hub.requests.length;
  const cached = await deepen(["--offline", "inspect", "org/tiny"]);
  assert.equal(cached.code, 0, cached.stderr);
  const missing = await deepen(["inspect", "org/tiny@v1", "--offline"]);
  assert.equal(missing.code, 1);
  assert.match(
    missing.stderr,
    /^deepen: org\/tiny: revision v1 not in the Hugging Face cache .*HF_HUB_OFFLINE is set/,
  );
  const dl = await deepen(["--offline", "download", "org/tiny"]);
  assert.equal(dl.code, 1);
  assert.match(dl.stderr, /^deepen: org\/tiny: HF_HUB_OFFLINE is set, so it cannot be downloaded/);
  assert.equal(hub.requests.length, n);
});

test("download refreshes the ref from the Hub and skips blobs already complete", async () => {
  freshHubEnv(root, hub.url);
  assert.equal((await deepen(["download", "org/tiny"])).code, 0);
  const n = hub.requests.length;
  const again = await deepen(["download", "org/tiny"]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(
    hub.requests.slice(n).map((q) => q.url.split("?")[0]),
    ["/api/models/org/tiny/revision/main", `/api/models/org/tiny/tree/${MAIN}`],
  );
});

test("upscale takes an uncached ORG/NAME@REV: downloaded on the way, progress silent under --json", async () => {
  // Progress prints nothing for jobs under a second: the weights take two, so that it would.
  hub.slow.set("model.safetensors", 2000);
  try {
    freshHubEnv(root, hub.url);
    const shown = await deepen(["upscale", "org/tiny@v1", "-o", join(root, "never"), "--dry-run"]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stderr, /^downloading org\/tiny: \d+0% \(/m);
    freshHubEnv(root, hub.url);
    const r = await deepen(["upscale", "org/tiny@v1", "-o", join(root, "never"), "--dry-run", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.equal(JSON.parse(r.stdout).dry_run, true);
  } finally {
    hub.slow.delete("model.safetensors");
  }
});

test("two deepen download processes at once both succeed, and the blob they share is the file", async () => {
  const home = freshHubEnv(root, hub.url);
  hub.slow.set("model.safetensors", 800);
  let results: CliResult[];
  try {
    results = await Promise.all([deepen(["download", "org/tiny"]), deepen(["download", "org/tiny"])]);
  } finally {
    hub.slow.delete("model.safetensors");
  }
  for (const r of results) {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${join(snapshots(home), MAIN)}\n`);
  }
  const weights = readFileSync(join(model, "model.safetensors"));
  const blobs = join(home, "hub", "models--org--tiny", "blobs");
  assert.deepEqual(readFileSync(join(blobs, contentHash(true, weights))), weights);
  assert.deepEqual(readFileSync(join(snapshots(home), MAIN, "model.safetensors")), weights);
  assert.deepEqual(
    readdirSync(blobs).filter((f) => f.includes(".")),
    [],
    "no lock or partial file left",
  );
});

test("a missing repo is one line naming it", async () => {
  freshHubEnv(root, hub.url);
  const r = await deepen(["download", "org/none"]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^deepen: org\/none: not found on http:\/\/127\.0\.0\.1:\d+ \(HTTP 401\): check the name \(or, if it is private, set HF_TOKEN\)\n$/,
  );
});
