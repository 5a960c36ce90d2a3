// `npx deepen` prints deepen's output and nothing of npm's: no warning about project config.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

test("npx deepen is quiet: onnxruntime-node's CUDA download is declined in package.json, not .npmrc", () => {
  const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as {
    allowScripts?: Record<string, boolean>;
  };
  assert.equal(pkg.allowScripts?.["onnxruntime-node"], false);
  // Through npm exec, which reads the project's npm config as `npx deepen` does; the CLI is run by
  // path, so the check does not depend on the bin's executable bit (a plain tsc build does not set it).
  const r = spawnSync(
    "npx",
    [
      "--offline",
      "node",
      join(repo, "dist", "src", "cli", "main.js"),
      "inspect",
      join(repo, "no-such-model"),
    ],
    {
      cwd: repo,
      encoding: "utf8",
    },
  );
  assert.equal(r.status, 1);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^deepen: .*no-such-model: no such folder\n$/);
});
