import assert from "node:assert/strict";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { hostname } from "node:os";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { openModelFolder } from "../../../src/checkpoint/modelFolder.js";
import { contentHash } from "../../../src/checkpoint/hub/contentHash.js";
import { downloadModel } from "../../../src/checkpoint/hub/downloadModel.js";
import type { DownloadProgress } from "../../../src/checkpoint/hub/downloadProgress.js";
import { writeSnapshot } from "../../../src/checkpoint/hub/writeSnapshot.js";
import { resolveModel } from "../../../src/checkpoint/resolveModel.js";
import { HubError } from "../../../src/errors.js";
import { adapterConfig, linearPair, writeAdapter } from "../../fixtures/loraAdapter.js";
import { fixture, tempDir } from "../../helpers.js";
import { commitOf, FakeHub, filesOf } from "./fakeHub.js";
import { freshHubEnv } from "./hubEnv.js";

const root = tempDir();
const model = await fixture(root, { family: "llama", layers: 2, layout: "single" });
const other = await fixture(root, { family: "llama", layers: 3, layout: "single", seed: 7 });
const weights = readFileSync(join(model, "model.safetensors"));
const MAIN = commitOf("main");
const V1 = commitOf("v1");
const hub = new FakeHub();
hub.add(
  "org/tiny",
  MAIN,
  filesOf(model, {
    "pytorch_model.bin": "pickled weights",
    "model.gguf": "GGUF weights",
    "original/params.json": '{"dim": 64}',
    "README.md": "# tiny",
  }),
);
hub.add("org/tiny", V1, filesOf(other), ["v1"]);
hub.add("org/gated", MAIN, filesOf(model), ["main"], "hf_secret");
const adapter = await writeAdapter(
  join(root, "adapter"),
  adapterConfig({ target_modules: ["q_proj"] }),
  [0, 1].flatMap((l) => linearPair(`model.layers.${l}.self_attn.q_proj`, 4, 64, 64, l + 1)),
);
writeFileSync(join(adapter, "README.md"), "# adapter card, not needed");
hub.add("org/lora", MAIN, filesOf(adapter));
const sharded = await fixture(root, { family: "llama", layers: 2, shardBytes: 20_000 });
hub.add("org/sharded", MAIN, filesOf(sharded));
const ODD_NAME = "odd #1?50%.gguf";
hub.add(
  "org/odd",
  MAIN,
  filesOf(model, { [ODD_NAME]: "GGUF under an awkward name", "sub dir/a#b.gguf": "deeper" }),
);

before(() => hub.start());
after(() => hub.stop());

/** A port nothing listens on: one just released. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, "127.0.0.1", ok));
  const port = (s.address() as AddressInfo).port;
  await new Promise((ok) => s.close(ok));
  return port;
}

const repoDir = (home: string, repo = "org/tiny") => join(home, "hub", `models--${repo.replace("/", "--")}`);
const requestsSince = (n: number) => hub.requests.slice(n);

async function rejects(p: Promise<unknown>, failure: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof HubError, String(e));
    assert.equal(e.failure, failure);
    assert.match(e.message, message);
    return true;
  });
}

test("a download writes huggingface_hub's cache layout: blobs named by hash, relative links, refs/main", async () => {
  const home = freshHubEnv(root, hub.url);
  const r = await downloadModel("org/tiny");
  const repo = repoDir(home);
  assert.equal(r.commit, MAIN);
  assert.equal(r.dir, join(repo, "snapshots", MAIN));
  assert.equal(readFileSync(join(repo, "refs", "main"), "utf8"), MAIN);
  const files = readdirSync(r.dir).sort();
  // The fixture holds only files a model needs (config, weights, tokenizer): all of them, nothing else.
  assert.deepEqual(files, readdirSync(model).sort());
  assert.ok(files.includes("model.safetensors") && files.includes("tokenizer.json"));
  for (const f of files) {
    const link = join(r.dir, f);
    assert.ok(lstatSync(link).isSymbolicLink(), f);
    const content = readFileSync(join(model, f));
    const lfs = f.endsWith(".safetensors");
    assert.equal(readlinkSync(link), `../../blobs/${contentHash(lfs, content)}`);
    assert.deepEqual(readFileSync(link), content);
  }
  assert.deepEqual(
    readdirSync(join(repo, "blobs")).sort(),
    files.map((f) => contentHash(f.endsWith(".safetensors"), readFileSync(join(model, f)))).sort(),
  );
  assert.ok(!existsSync(join(repo, ".staging")));
  const opened = await openModelFolder("org/tiny");
  assert.equal(opened.name, "org/tiny");
  assert.equal(opened.dir, r.dir);
  assert.equal(opened.config.num_hidden_layers, 2);
});

test(".bin, .gguf and subfolders are fetched only when included; deeper links get more ../", async () => {
  const home = freshHubEnv(root, hub.url);
  const plain = await downloadModel("org/tiny");
  for (const f of ["pytorch_model.bin", "model.gguf", "original", "README.md"])
    assert.ok(!existsSync(join(plain.dir, f)), f);
  const r = await downloadModel("org/tiny", { include: ["*.bin", "original/*"] });
  assert.ok(existsSync(join(r.dir, "pytorch_model.bin")));
  assert.ok(!existsSync(join(r.dir, "model.gguf")));
  const params = join(r.dir, "original", "params.json");
  assert.equal(readlinkSync(params), `../../../blobs/${contentHash(false, Buffer.from('{"dim": 64}'))}`);
  assert.equal(readFileSync(params, "utf8"), '{"dim": 64}');
  assert.ok(existsSync(join(repoDir(home), "blobs")));
});

test("a model in the cache is used without any request; a second download skips complete blobs", async () => {
  freshHubEnv(root, hub.url);
  await downloadModel("org/tiny");
  const n = hub.requests.length;
  const r = await resolveModel("org/tiny");
  assert.equal(r.commit, MAIN);
  assert.equal(r.revision, "main");
  await openModelFolder("org/tiny");
  assert.deepEqual(requestsSince(n), []);
  const again = await downloadModel("org/tiny");
  assert.equal(again.fetched, 0);
  assert.deepEqual(
    requestsSince(n).map((q) => q.url.split("?")[0]),
    [`/api/models/org/tiny/revision/main`, `/api/models/org/tiny/tree/${MAIN}`],
  );
});

test("progress reports bytes as they arrive, ending with done = total", async () => {
  freshHubEnv(root, hub.url);
  const seen: DownloadProgress[] = [];
  await downloadModel("org/tiny", { onProgress: (p) => seen.push(p) });
  const total = readdirSync(model).reduce((sum, f) => sum + statSync(join(model, f)).size, 0);
  assert.ok(seen.length > readdirSync(model).length);
  for (const p of seen) assert.equal(p.total, total);
  const last = seen.at(-1)!;
  assert.deepEqual([last.finished, last.done, last.file], [true, total, undefined]);
  assert.ok(last.rate > 0);
  assert.ok(seen.some((p) => p.file === "model.safetensors" && p.done > 0 && p.done < total));
  assert.ok(seen.slice(1).every((p, i) => p.done >= seen[i]!.done));
});

test("a snapshot another tool began (config.json alone) is completed, not taken as the model", async () => {
  const home = freshHubEnv(root, hub.url);
  const repo = repoDir(home);
  const config = readFileSync(join(model, "config.json"));
  mkdirSync(join(repo, "blobs"), { recursive: true });
  writeFileSync(join(repo, "blobs", contentHash(false, config)), config);
  mkdirSync(join(repo, "snapshots", MAIN), { recursive: true });
  symlinkSync(`../../blobs/${contentHash(false, config)}`, join(repo, "snapshots", MAIN, "config.json"));
  mkdirSync(join(repo, "refs"));
  writeFileSync(join(repo, "refs", "main"), MAIN);
  const n = hub.requests.length;
  assert.equal((await openModelFolder("org/tiny")).tensors.size > 0, true);
  assert.ok(
    !requestsSince(n).some((q) => q.url.endsWith(`/resolve/${MAIN}/config.json`)),
    "the blob present is not fetched again",
  );
  assert.deepEqual(readdirSync(join(repo, "snapshots", MAIN)).sort(), readdirSync(model).sort());
});

test("offline (HF_HUB_OFFLINE): the cached model opens, a missing one is an error, and no request is made", async () => {
  freshHubEnv(root, hub.url);
  await downloadModel("org/tiny");
  const n = hub.requests.length;
  for (const value of ["1", "TRUE", "yes", "On"]) {
    process.env.HF_HUB_OFFLINE = value;
    assert.equal((await openModelFolder("org/tiny")).config.num_hidden_layers, 2);
    await rejects(
      resolveModel("org/gated"),
      "offline",
      /^org\/gated: not in the Hugging Face cache .*HF_HUB_OFFLINE/,
    );
    await rejects(resolveModel("org/tiny@v1"), "offline", /revision v1 not in the Hugging Face cache/);
    await rejects(downloadModel("org/tiny"), "offline", /HF_HUB_OFFLINE is set/);
  }
  assert.deepEqual(requestsSince(n), []);
});

test("a connection dropped mid-file is an error; the next run resumes with a Range request", async () => {
  const home = freshHubEnv(root, hub.url);
  hub.bodyBytes.clear();
  hub.dropAfter.set("model.safetensors", Math.floor(weights.length / 2));
  await rejects(
    downloadModel("org/tiny"),
    "network",
    /download of model.safetensors stopped after \d+ of \d+ bytes.*run again to resume/,
  );
  const repo = repoDir(home);
  assert.ok(!existsSync(join(repo, "snapshots")), "nothing under snapshots/");
  assert.ok(!existsSync(join(repo, "refs")));
  const partial = join(repo, "blobs", `${contentHash(true, weights)}.incomplete`);
  const have = statSync(partial).size;
  assert.ok(have > 0 && have < weights.length, `${have}`);
  const n = hub.requests.length;
  const r = await downloadModel("org/tiny");
  assert.ok(
    requestsSince(n).some((q) => q.range === `bytes=${have}-${weights.length - 1}`),
    JSON.stringify(requestsSince(n)),
  );
  assert.ok(hub.bodyBytes.get("model.safetensors")! < 2 * weights.length);
  // Files are fetched in name order: those after model.safetensors were not reached the first time.
  const later = readdirSync(model).filter((f) => f > "model.safetensors");
  const laterBytes = later.reduce((sum, f) => sum + statSync(join(model, f)).size, 0);
  assert.equal(r.fetched, weights.length - have + laterBytes);
  assert.deepEqual(readFileSync(join(r.dir, "model.safetensors")), weights);
  assert.ok(!existsSync(partial));
});

test("a corrupted body is a hash error: the partial blob is deleted and nothing is under snapshots/", async () => {
  const home = freshHubEnv(root, hub.url);
  hub.corrupt.add("model.safetensors");
  try {
    await rejects(
      downloadModel("org/tiny"),
      "integrity",
      /model.safetensors arrived corrupt \(sha256 [0-9a-f]{64}, expected/,
    );
  } finally {
    hub.corrupt.delete("model.safetensors");
  }
  const repo = repoDir(home);
  assert.ok(!existsSync(join(repo, "snapshots")));
  assert.ok(!existsSync(join(repo, "refs")));
  assert.ok(!readdirSync(join(repo, "blobs")).some((f) => f.endsWith(".incomplete")));
});

test(
  "a full disk is named with the bytes still needed; the partial blob stays and snapshots/ is untouched",
  { skip: !existsSync("/dev/full") },
  async () => {
    const home = freshHubEnv(root, hub.url);
    const blobs = join(repoDir(home), "blobs");
    mkdirSync(blobs, { recursive: true });
    // Writes to /dev/full fail with ENOSPC, as on a full disk.
    const partial = join(blobs, `${contentHash(true, weights)}.incomplete`);
    symlinkSync("/dev/full", partial);
    await rejects(
      downloadModel("org/tiny"),
      "disk-full",
      /^org\/tiny: no space left in .*blobs: \d+\.\d MB more needed; model.safetensors's partial blob is kept and the next run resumes it$/,
    );
    assert.ok(lstatSync(partial).isSymbolicLink());
    assert.ok(!existsSync(join(repoDir(home), "snapshots")));
    assert.ok(!existsSync(join(repoDir(home), "refs")));
  },
);

/** Every request to the Hub carries the token; none to the CDN (another origin, as the real one). */
function assertTokenOnlyToHub(since: number): void {
  const qs = requestsSince(since);
  assert.ok(qs.some((q) => q.url.startsWith("/cdn/")) && qs.some((q) => q.url.includes("/resolve/")));
  for (const q of qs)
    assert.equal(q.authorization, q.url.startsWith("/cdn/") ? undefined : "Bearer hf_secret", q.url);
}

test("the token goes as Authorization: Bearer to the Hub (never to the CDN), from HF_TOKEN and from the token file", async () => {
  freshHubEnv(root, hub.url);
  process.env.HF_TOKEN = "hf_secret";
  let n = hub.requests.length;
  await downloadModel("org/gated");
  assertTokenOnlyToHub(n);

  const home = freshHubEnv(root, hub.url);
  writeFileSync(join(home, "token"), "hf_secret\n");
  n = hub.requests.length;
  await downloadModel("org/gated");
  assertTokenOnlyToHub(n);

  const tokenPath = join(root, "elsewhere-token");
  writeFileSync(tokenPath, "hf_secret");
  freshHubEnv(root, hub.url);
  process.env.HF_TOKEN_PATH = tokenPath;
  await downloadModel("org/gated");
});

test("a gated model without a token, or with a refused one, says to accept the licence and log in", async () => {
  const home = freshHubEnv(root, hub.url);
  await rejects(
    resolveModel("org/gated"),
    "access",
    new RegExp(
      `^org/gated: access refused \\(HTTP 401, no token was sent\\).*accept its licence on ${hub.url}/org/gated, ` +
        `then set HF_TOKEN or run \`huggingface-cli login\` \\(token file: ${join(home, "token")}\\)$`,
    ),
  );
  process.env.HF_TOKEN = "hf_wrong";
  await rejects(downloadModel("org/gated"), "access", /HTTP 403, the token was refused/);
  assert.ok(
    !existsSync(repoDir(home, "org/gated")) || !existsSync(join(repoDir(home, "org/gated"), "snapshots")),
  );
});

test("unknown repos, revisions and unreachable endpoints are one-line errors naming the repo", async () => {
  freshHubEnv(root, hub.url);
  // As the real Hub: 401 RepoNotFound without a token (it may be private), 404 with one.
  await rejects(
    downloadModel("org/missing"),
    "not-found",
    /^org\/missing: not found on http:\/\/127\.0\.0\.1:\d+ \(HTTP 401\): check the name \(or, if it is private, set HF_TOKEN\)$/,
  );
  await rejects(
    resolveModel("org/missing"),
    "not-found",
    /^org\/missing: no such folder, and not found on .*\(HTTP 401\).*set HF_TOKEN\)$/,
  );
  process.env.HF_TOKEN = "hf_secret";
  await rejects(
    downloadModel("org/missing"),
    "not-found",
    /^org\/missing: not found on http:\/\/127\.0\.0\.1:\d+ \(HTTP 404\): check the name$/,
  );
  delete process.env.HF_TOKEN;
  // A bare word is a folder name, never a Hub id (legacy ids without an org are not looked up).
  await assert.rejects(resolveModel("missing"), /^CheckpointError: missing: no such folder$/);
  await rejects(
    resolveModel("org/tiny@nope"),
    "revision-not-found",
    /^org\/tiny: revision nope not found on/,
  );
  const closed = await closedPort();
  freshHubEnv(root, `http://127.0.0.1:${closed}`);
  await rejects(
    resolveModel("org/tiny"),
    "network",
    new RegExp(
      `^org/tiny: cannot reach http://127\\.0\\.0\\.1:${closed} \\(ECONNREFUSED\\).*HF_HUB_OFFLINE=1`,
    ),
  );
});

test("@tag writes refs/tag; a commit revision writes no ref; both then resolve from the cache alone", async () => {
  const home = freshHubEnv(root, hub.url);
  const tagged = await resolveModel("org/tiny@v1");
  const repo = repoDir(home);
  assert.equal(tagged.commit, V1);
  assert.equal(readFileSync(join(repo, "refs", "v1"), "utf8"), V1);
  assert.ok(!existsSync(join(repo, "refs", "main")));
  assert.equal((await openModelFolder("org/tiny@v1")).config.num_hidden_layers, 3);

  const home2 = freshHubEnv(root, hub.url);
  const pinned = await resolveModel(`org/tiny@${MAIN}`);
  assert.equal(pinned.dir, join(repoDir(home2), "snapshots", MAIN));
  assert.ok(!existsSync(join(repoDir(home2), "refs")));
  const n = hub.requests.length;
  assert.equal((await resolveModel(`org/tiny@${MAIN.slice(0, 7)}`)).dir, pinned.dir);
  assert.equal((await resolveModel(`org/tiny@${MAIN}`)).dir, pinned.dir);
  assert.deepEqual(requestsSince(n), []);
});

test("MODEL+ADAPTER with both on the Hub downloads each (adapter files only) and reads the merged model", async () => {
  const home = freshHubEnv(root, hub.url);
  process.env.DEEPEN_CACHE = join(root, `deepen-cache-${Date.now()}`);
  const n = hub.requests.length;
  const r = await resolveModel("org/tiny+org/lora");
  assert.equal(r.name, "org/tiny+org/lora");
  assert.ok(r.dir.startsWith(join(process.env.DEEPEN_CACHE, "lora")), r.dir);
  assert.deepEqual(readdirSync(join(repoDir(home, "org/lora"), "snapshots", MAIN)).sort(), [
    "adapter_config.json",
    "adapter_model.safetensors",
  ]);
  const merged = await openModelFolder(r.dir);
  assert.ok(merged.tensors.has("model.layers.0.self_attn.q_proj.weight"));
  // A second resolution needs neither the Hub nor a new merge.
  const m = hub.requests.length;
  assert.ok(m > n);
  assert.equal((await resolveModel("org/tiny+org/lora")).dir, r.dir);
  assert.deepEqual(requestsSince(m), []);
  delete process.env.DEEPEN_CACHE;
});

const weightsBlob = (home: string) => join(repoDir(home), "blobs", contentHash(true, weights));
/** Bytes of the files sorting after model.safetensors: fetched after it, so not reached by a run that failed on it. */
const laterBytes = readdirSync(model)
  .filter((f) => f > "model.safetensors")
  .reduce((sum, f) => sum + statSync(join(model, f)).size, 0);

test("a full-size .incomplete is hash-checked and renamed; an oversized one is fetched anew; a wrong one is deleted", async () => {
  let home = freshHubEnv(root, hub.url);
  mkdirSync(join(repoDir(home), "blobs"), { recursive: true });
  writeFileSync(`${weightsBlob(home)}.incomplete`, weights);
  let r = await downloadModel("org/tiny");
  assert.deepEqual(readFileSync(join(r.dir, "model.safetensors")), weights);
  assert.ok(!existsSync(`${weightsBlob(home)}.incomplete`));
  assert.equal(
    r.fetched,
    readdirSync(model).reduce((sum, f) => sum + statSync(join(model, f)).size, 0) - weights.length,
  );

  home = freshHubEnv(root, hub.url);
  mkdirSync(join(repoDir(home), "blobs"), { recursive: true });
  writeFileSync(`${weightsBlob(home)}.incomplete`, Buffer.concat([weights, Buffer.from("trailing junk")]));
  r = await downloadModel("org/tiny");
  assert.deepEqual(readFileSync(join(r.dir, "model.safetensors")), weights);
  assert.deepEqual(readFileSync(weightsBlob(home)), weights);

  home = freshHubEnv(root, hub.url);
  mkdirSync(join(repoDir(home), "blobs"), { recursive: true });
  const wrong = Buffer.from(weights);
  wrong[0]! ^= 1;
  writeFileSync(`${weightsBlob(home)}.incomplete`, wrong);
  await rejects(downloadModel("org/tiny"), "integrity", /model.safetensors arrived corrupt \(sha256/);
  assert.ok(!existsSync(`${weightsBlob(home)}.incomplete`));
  assert.ok(!existsSync(join(repoDir(home), "snapshots")) && !existsSync(join(repoDir(home), "refs")));
});

test("two downloads of the same model at once: one waits for the other's blob, which ends byte-identical", async () => {
  const home = freshHubEnv(root, hub.url);
  hub.slow.set("model.safetensors", 600);
  try {
    const [a, b] = await Promise.all([downloadModel("org/tiny"), downloadModel("org/tiny")]);
    assert.equal(a.dir, b.dir);
  } finally {
    hub.slow.delete("model.safetensors");
  }
  assert.deepEqual(readFileSync(weightsBlob(home)), weights);
  assert.deepEqual(
    readdirSync(join(repoDir(home), "blobs")).filter((f) => !/^[0-9a-f]+$/.test(f)),
    [],
    "no lock or partial file left",
  );
});

test("a blob lock left by a dead process is broken; a live one is waited for, and its finished blob used", async () => {
  let home = freshHubEnv(root, hub.url);
  mkdirSync(join(repoDir(home), "blobs"), { recursive: true });
  const dead = spawnSync(process.execPath, ["-e", ""]).pid;
  writeFileSync(`${weightsBlob(home)}.lock`, `${dead} ${hostname()}\n`);
  const r = await downloadModel("org/tiny");
  assert.deepEqual(readFileSync(join(r.dir, "model.safetensors")), weights);
  assert.ok(!existsSync(`${weightsBlob(home)}.lock`));

  home = freshHubEnv(root, hub.url);
  mkdirSync(join(repoDir(home), "blobs"), { recursive: true });
  const lock = `${weightsBlob(home)}.lock`;
  writeFileSync(lock, `${process.pid} ${hostname()}\n`);
  // "Another process" finishes the blob and lets go of the lock a little later.
  const other = new Promise<void>((ok) =>
    setTimeout(() => {
      writeFileSync(weightsBlob(home), weights);
      rmSync(lock);
      ok();
    }, 400),
  );
  hub.bodyBytes.clear();
  const waited = await downloadModel("org/tiny");
  await other;
  assert.equal(hub.bodyBytes.get("model.safetensors"), undefined, "the blob is not fetched again");
  assert.equal(
    waited.fetched,
    readdirSync(model).reduce((sum, f) => sum + statSync(join(model, f)).size, 0) - weights.length,
  );
  assert.deepEqual(readFileSync(join(waited.dir, "model.safetensors")), weights);
});

test("snapshots written at once by several downloads all succeed and leave no staging folder", async () => {
  const home = freshHubEnv(root, hub.url);
  const r = await downloadModel("org/tiny");
  rmSync(join(repoDir(home), "snapshots"), { recursive: true });
  const listed = readdirSync(model).map((f) => {
    const lfs = f.endsWith(".safetensors");
    const content = readFileSync(join(model, f));
    return { path: f, etag: contentHash(lfs, content), size: content.length, lfs };
  });
  const dirs = await Promise.all([1, 2, 3, 4].map(() => writeSnapshot(repoDir(home), MAIN, listed)));
  for (const d of dirs) assert.equal(d, r.dir);
  assert.deepEqual(readdirSync(r.dir).sort(), readdirSync(model).sort());
  assert.deepEqual(readFileSync(join(r.dir, "model.safetensors")), weights);
  assert.ok(!existsSync(join(repoDir(home), ".staging")));
});

test("a cached snapshot missing a shard, or with a dangling link, is completed rather than used", async () => {
  const home = freshHubEnv(root, hub.url);
  const r = await downloadModel("org/sharded");
  const shards = readdirSync(sharded).filter((f) => /^model-.*\.safetensors$/.test(f));
  assert.ok(shards.length > 1, shards.join());
  rmSync(join(r.dir, shards[1]!));
  let n = hub.requests.length;
  assert.equal((await resolveModel("org/sharded")).dir, r.dir);
  assert.ok(requestsSince(n).length > 0, "the half snapshot was not taken as the model");
  assert.ok(existsSync(join(r.dir, shards[1]!)));

  const tiny = await downloadModel("org/tiny");
  rmSync(weightsBlob(home));
  n = hub.requests.length;
  assert.equal((await resolveModel("org/tiny")).dir, tiny.dir);
  assert.ok(requestsSince(n).length > 0, "a dangling link is not a model");
  assert.deepEqual(readFileSync(join(tiny.dir, "model.safetensors")), weights);

  const lora = await downloadModel("org/lora");
  rmSync(join(lora.dir, "adapter_model.safetensors"));
  n = hub.requests.length;
  await resolveModel("org/lora");
  assert.ok(requestsSince(n).length > 0, "an adapter without its weights is not an adapter");
});

test("an HTTP error for the body itself (an expired CDN link) is named, not called a network failure", async () => {
  freshHubEnv(root, hub.url);
  hub.failBody.set("model.safetensors", 403);
  await rejects(
    downloadModel("org/tiny"),
    "access",
    /^org\/tiny: the download of model.safetensors was refused midway \(HTTP 403: an expired link/,
  );
  hub.failBody.set("model.safetensors", 404);
  await rejects(
    downloadModel("org/tiny"),
    "not-found",
    /model.safetensors is no longer on the Hub \(HTTP 404\)/,
  );
  hub.failBody.set("model.safetensors", 500);
  await rejects(downloadModel("org/tiny"), "protocol", /HTTP 500 for model.safetensors's content/);
  assert.equal(hub.failBody.size, 0);
});

test("files named with #, ? and % are fetched under their own names", async () => {
  freshHubEnv(root, hub.url);
  const r = await downloadModel("org/odd", { include: ["*.gguf"] });
  assert.equal(readFileSync(join(r.dir, ODD_NAME), "utf8"), "GGUF under an awkward name");
  assert.equal(readFileSync(join(r.dir, "sub dir", "a#b.gguf"), "utf8"), "deeper");
});

test("a 200 answer to a Range request restarts the blob from zero; fetched counts every byte received", async () => {
  const home = freshHubEnv(root, hub.url);
  hub.dropAfter.set("model.safetensors", Math.floor(weights.length / 2));
  await rejects(downloadModel("org/tiny"), "network", /stopped after/);
  assert.ok(statSync(`${weightsBlob(home)}.incomplete`).size > 0);
  hub.ignoreRangeOnce.add("model.safetensors");
  const n = hub.requests.length;
  const seen: DownloadProgress[] = [];
  const r = await downloadModel("org/tiny", { onProgress: (p) => seen.push(p) });
  assert.ok(!hub.ignoreRangeOnce.has("model.safetensors"), "a Range was asked for and ignored");
  assert.ok(requestsSince(n).some((q) => q.range?.startsWith("bytes=") && q.range !== "bytes=0-0"));
  assert.deepEqual(readFileSync(join(r.dir, "model.safetensors")), weights);
  assert.equal(r.fetched, weights.length + laterBytes);
  assert.equal(seen.at(-1)!.done, seen.at(-1)!.total);
});

test("a cache folder that cannot be written is a one-line error naming the repo", async () => {
  const home = freshHubEnv(root, hub.url);
  mkdirSync(repoDir(home), { recursive: true });
  writeFileSync(join(repoDir(home), "blobs"), "a file where the blobs folder goes");
  await rejects(
    downloadModel("org/tiny"),
    "cache",
    /^org\/tiny: cannot write the Hugging Face cache: E[A-Z]+: .*blobs/,
  );
});
