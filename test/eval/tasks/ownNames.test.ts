import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "../../../src/errors.js";
import { harnessJson } from "../../../src/eval/tasks/evaluateTasks.js";
import { resolveSuite } from "../../../src/eval/tasks/suites.js";
import { parseTask } from "../../../src/eval/tasks/taskSpec.js";
import { tempDir } from "../../helpers.js";

// Names a user types (suites, process_docs, task names) are looked up as own names only: those of the
// object prototype are unknown like any other, never a function found on Object.prototype.
const PROTOTYPE_NAMES = ["constructor", "toString", "__proto__", "hasOwnProperty"];

test("--suite with a prototype name is an unknown suite", () => {
  const dir = tempDir();
  for (const name of PROTOTYPE_NAMES)
    assert.throws(
      () => resolveSuite(name, dir),
      (e: unknown) => {
        assert.ok(e instanceof UsageError, String(e));
        assert.match(e.message, new RegExp(`^unknown suite ${name}: known are h6, tiny`));
        return true;
      },
    );
});

test("process_docs with a prototype name is refused when the task file is read", () => {
  for (const name of PROTOTYPE_NAMES) {
    const doc = {
      task: "t",
      output_type: "multiple_choice",
      process_docs: name,
      doc_to_text: "{{ q }}",
      doc_to_choice: ["a", "b"],
      doc_to_target: "{{ gold }}",
    };
    assert.throws(
      () => parseTask(doc, "t.yaml"),
      new RegExp(`^UsageError: t\\.yaml: process_docs ${name}: known are`),
    );
  }
});

test("the harness JSON keeps a task named __proto__ or constructor", () => {
  const task = (name: string) => ({
    task: name,
    source: "x",
    documents: 3,
    shots: 0,
    metrics: { acc: { value: 0.5, stderr: 0.1 } },
    main: "acc",
  });
  const j = harnessJson({ model: "m", tasks: [task("__proto__"), task("constructor")] }, {});
  const results = j.results as Record<string, unknown>;
  assert.deepEqual(Object.keys(results), ["__proto__", "constructor"]);
  assert.deepEqual(JSON.parse(JSON.stringify(results)).__proto__, {
    alias: "__proto__",
    documents: 3,
    acc: 0.5,
    acc_stderr: 0.1,
  });
});
