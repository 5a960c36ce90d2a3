import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DEFAULT_MODEL } from "../../../src/demo/runDemo.js";
import { loadTokenizer } from "../../../src/tokenizer/loadTokenizer.js";
import { killOnceExists, fixture, modelTensors, readJson, runCli, tempDir } from "../../helpers.js";

const root = tempDir();
const model = await fixture(root, { family: "llama", layers: 2, dtype: "F32" });
const data = join(root, "chat.jsonl");
const lines: string[] = [];
for (let i = 0; i < 40; i++) {
  const [x, y] = [(i * 7) % 50, (i * 13) % 40];
  lines.push(
    JSON.stringify({
      messages: [
        { role: "user", content: `${x} plus ${y}?` },
        { role: "assistant", content: `${x} + ${y} = ${x + y}\n#### ${x + y}` },
      ],
    }),
  );
}
writeFileSync(data, lines.join("\n") + "\n");
const args = (out: string, extra: string[] = []) => [
  "train",
  "sft",
  "--model",
  model,
  "--data",
  data,
  "--out",
  out,
  "--seq-len",
  "64",
  "--batch",
  "2",
  "--lr",
  "3e-3",
  "--max-steps",
  "12",
  ...extra,
];

test("sft with chatml and new chat tokens: the final model carries the template, tokens and stop ids", async () => {
  const out = join(root, "run");
  const r = runCli(
    args(out, ["--template", "chatml", "--add-chat-tokens", "--pack", "--eval-fraction", "0.1"]),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /added 2 chat tokens \(<\|im_start\|> = 259, <\|im_end\|> = 260\)/);
  assert.match(r.stdout, /held-out loss/);
  const final = join(out, "final");
  const tok = await loadTokenizer(final);
  assert.equal(tok.encode("<|im_end|>", { addSpecialTokens: false }).length, 1);
  assert.ok(tok.eosIds.includes(260), "generation stops at <|im_end|>");
  assert.equal(
    tok.applyChatTemplate([{ role: "user", content: "hi" }], { addGenerationPrompt: true }),
    "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
  );
  assert.equal(readJson(join(final, "tokenizer_config.json")).eos_token, "<|im_end|>");
  const state = readJson(join(final, "trainer_state.json"));
  assert.equal(state.objective, "sft");
  assert.equal((state.settings as Record<string, unknown>).template, "chatml");
  assert.ok(readFileSync(join(final, "README.md"), "utf8").includes("Supervised fine-tuning"));
  // The input model is untouched: its tokenizer still has no chat tokens.
  assert.equal((await loadTokenizer(model)).tokenToId("<|im_start|>"), undefined);
  const g = runCli(["generate", final, "1 plus 2?", "--chat", "--max-tokens", "4"]);
  assert.equal(g.code, 0, g.stderr);
});

test("bad input: one line naming the problem, exit 2, nothing in --out", () => {
  const bad = join(root, "bad.jsonl");
  writeFileSync(bad, lines[0] + "\n{not json\n");
  const swapped = join(root, "swapped.jsonl");
  writeFileSync(
    swapped,
    JSON.stringify({
      messages: [
        { role: "assistant", content: "a" },
        { role: "user", content: "b" },
        { role: "assistant", content: "c" },
      ],
    }) + "\n",
  );
  const cases: [string[], RegExp][] = [
    [["--template", "nope"], /unknown chat template "nope"; built-in templates: chatml, llama2/],
    [
      ["--template", "chatml"],
      /writes <\|im_start\|>, <\|im_end\|>, which .* lacks; --add-chat-tokens adds them/,
    ],
    [["--seq-len", "8"], /no example left to train on \(40 read, 40 longer than --seq-len 8/],
    [["--data", bad], /bad\.jsonl:2: .*JSON/],
    [["--data", swapped, "--template", "mistral"], /swapped\.jsonl:1: .*Conversation roles must alternate/],
    [["--format", "nope"], /--format/],
  ];
  for (const [extra, message] of cases) {
    const out = join(root, `bad-${extra.join("-").replace(/\W/g, "")}`);
    const r = runCli(args(out, extra));
    assert.equal(r.code, 2, `${extra.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.ok(!existsSync(out), `${extra.join(" ")} left ${out}`);
  }
  const tiny = runCli([
    "train",
    "sft",
    "--model",
    DEFAULT_MODEL,
    "--data",
    data,
    "-o",
    join(root, "t"),
    "--max-steps",
    "1",
    "--seq-len",
    "128",
  ]);
  assert.equal(tiny.code, 2);
  assert.match(tiny.stderr, /has no chat template .*--template NAME \(chatml, llama2, llama3, mistral/);
});

test("a packed SFT run killed with SIGKILL and resumed ends with the same weights, bit for bit", async () => {
  const extra = ["--pack", "--grad-accum", "2", "--save-every", "3"];
  const straight = join(root, "straight");
  assert.equal(runCli(args(straight, extra)).code, 0);
  const killed = join(root, "killed");
  await killOnceExists(args(killed, extra), join(killed, "checkpoint-000006"));
  assert.ok(!existsSync(join(killed, "final")), "killed before the end");
  const resumed = runCli(args(killed, [...extra, "--resume"]));
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming from .*checkpoint-0000\d\d at step \d+/);
  const a = await modelTensors(join(straight, "final"));
  const b = await modelTensors(join(killed, "final"));
  for (const [name, t] of a) assert.ok(t.bytes.equals(b.get(name)!.bytes), `${name} identical`);
});
