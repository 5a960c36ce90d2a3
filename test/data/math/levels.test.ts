import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "../../../src/errors.js";
import { parseLevels } from "../../../src/data/math/levels.js";

test("--levels takes ranges, single levels and lists", () => {
  assert.deepEqual(parseLevels("1-4"), [1, 2, 3, 4]);
  assert.deepEqual(parseLevels("2"), [2]);
  assert.deepEqual(parseLevels("1,3"), [1, 3]);
  assert.deepEqual(parseLevels("3,1-2"), [1, 2, 3]);
  assert.deepEqual(parseLevels(" 2 - 3 "), [2, 3]);
});

test("--levels refuses what is not a level", () => {
  for (const bad of ["0", "5", "1-5", "3-1", "", "a", "1,,2", "1.5", "-2"]) {
    assert.throws(() => parseLevels(bad), UsageError, bad);
  }
});
