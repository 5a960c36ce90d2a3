// Resolving from a cache built by hand (as huggingface_hub leaves one), with the network unusable:
// HF_HUB_OFFLINE is set and the endpoint is a closed port, so any request would fail the test.
import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { resolveModel } from "../../../src/checkpoint/resolveModel.js";
import { CheckpointError } from "../../../src/errors.js";
import { tempDir } from "../../helpers.js";
import { freshHubEnv } from "./hubEnv.js";

const root = tempDir();
const home = freshHubEnv(root, "http://127.0.0.1:9");
process.env.HF_HUB_OFFLINE = "1";
const repo = join(home, "hub", "models--org--two");
const A = "a".repeat(7) + "1".repeat(33);
const B = "a".repeat(7) + "2".repeat(33);
const C = "c".repeat(40);

/** A snapshot whose config.json (a link into blobs/, as the cache keeps it) says which one it is. */
function snapshot(commit: string): void {
  mkdirSync(join(repo, "blobs"), { recursive: true });
  writeFileSync(join(repo, "blobs", `blob-${commit}`), JSON.stringify({ commit }));
  mkdirSync(join(repo, "snapshots", commit), { recursive: true });
  symlinkSync(`../../blobs/blob-${commit}`, join(repo, "snapshots", commit, "config.json"));
}
for (const c of [A, B, C]) snapshot(c);
mkdirSync(join(repo, "refs"), { recursive: true });
writeFileSync(join(repo, "refs", "main"), A);
writeFileSync(join(repo, "refs", "v1"), `${C}\n`);

const commitOf = async (input: string) => (await resolveModel(input)).commit;

test("refs/main, refs/<tag>, a commit and a unique commit prefix each pick their snapshot", async () => {
  assert.equal(await commitOf("org/two"), A);
  assert.equal(await commitOf("org/two@v1"), C);
  assert.equal(await commitOf(`org/two@${B}`), B);
  assert.equal(await commitOf("org/two@cccccccc"), C);
  const r = await resolveModel("org/two@v1");
  assert.deepEqual(r, { dir: join(repo, "snapshots", C), name: "org/two", revision: "v1", commit: C });
});

test("a models--ORG--NAME folder named directly reads the same refs", async () => {
  assert.equal(await commitOf(repo), A);
  assert.equal(await commitOf(`${repo}@v1`), C);
  assert.equal((await resolveModel(repo)).name, "org/two");
});

test("an ambiguous prefix, a short prefix and an unknown revision are errors", async () => {
  await assert.rejects(resolveModel("org/two@aaaaaaa"), /commit prefix aaaaaaa is ambiguous/);
  await assert.rejects(resolveModel("org/two@cccccc"), /revision cccccc not in the Hugging Face cache/);
  await assert.rejects(resolveModel("org/two@v2"), /revision v2 not in the Hugging Face cache/);
});

test("a ref pointing at a missing snapshot, or holding something else, is named", async () => {
  writeFileSync(join(repo, "refs", "gone"), "d".repeat(40));
  writeFileSync(join(repo, "refs", "junk"), "not a hash");
  await assert.rejects(
    resolveModel("org/two@gone"),
    (e: unknown) =>
      e instanceof CheckpointError &&
      /refs\/gone: points at snapshot d{40}, which is not in the cache/.test(e.message),
  );
  await assert.rejects(resolveModel("org/two@junk"), /refs\/junk: is not a commit hash/);
});

test("a folder whose name holds @ or + is taken whole; a revision on a plain folder is refused", async () => {
  const odd = join(root, "my@model+v2");
  mkdirSync(odd);
  assert.deepEqual(await resolveModel(odd), { dir: odd, name: "my@model+v2" });
  const plain = join(root, "plain");
  mkdirSync(plain);
  await assert.rejects(
    resolveModel(`${plain}@v1`),
    /is a folder; a revision \(@v1\) only applies to Hub models/,
  );
});

test("./x, ../x and names with -- or .. are paths, never Hub ids", async () => {
  for (const p of ["./x", "../x", "org/a--b", "org/a..b", "-org/x", "org/x."])
    await assert.rejects(
      resolveModel(p),
      (e: unknown) => e instanceof CheckpointError && /: no such folder$/.test(e.message),
      p,
    );
});

test("a .gguf path stays a file path, never a Hub id", async () => {
  await assert.rejects(
    resolveModel("org/model.gguf"),
    (e: unknown) => e instanceof CheckpointError && /org\/model.gguf: no such file$/.test(e.message),
  );
});

test("a revision that is `.`, `..`, or has an empty part is refused when parsed", async () => {
  for (const rev of [".", "..", "/main", "main/", "a//b", "a/./b", "a/../b"])
    await assert.rejects(
      resolveModel(`org/two@${rev}`),
      (e: unknown) =>
        e instanceof CheckpointError &&
        e.message === `org/two@${rev}: is not a model reference (PATH[@REVISION][+ADAPTER[@REVISION]])`,
      rev,
    );
  assert.equal(await commitOf("org/two@v1"), C, "a plain tag still resolves");
});
