import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { builtinTemplate } from "../../src/tokenizer/builtinTemplates.js";
import { loadTokenizer } from "../../src/tokenizer/loadTokenizer.js";
import { stageChatTokenizer } from "../../src/tokenizer/stageChatTokenizer.js";
import { fixture, tempDir } from "../helpers.js";

test("a staging folder left by a killed run is removed by the next run that stages; a live run's is kept", async () => {
  const model = await fixture(tempDir(), { family: "llama", layers: 1, dtype: "F32" });
  // A process that has exited: its pid names a folder nobody will clean up.
  const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], {
    encoding: "utf8",
  });
  const orphan = join(tmpdir(), `deepen-chat-tokenizer-${dead.stdout}-test`);
  const live = join(tmpdir(), `deepen-chat-tokenizer-${process.ppid}-test`);
  for (const d of [orphan, live]) {
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "tokenizer.json"), "{}");
  }
  const staged = await stageChatTokenizer(model, await loadTokenizer(model), {
    format: builtinTemplate("chatml"),
    addTokens: true,
  });
  try {
    assert.equal(existsSync(orphan), false, "the killed run's folder is gone");
    assert.equal(existsSync(live), true, "a running process's folder stays");
    assert.ok(existsSync(staged.dir));
  } finally {
    await staged.close();
    spawnSync("rm", ["-rf", live]);
  }
  assert.equal(existsSync(staged.dir), false);
});
