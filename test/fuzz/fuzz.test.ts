// A short seeded run of the fuzz suite (issue 15) inside `npm test`; `npm run fuzz` runs the long one.
// Every property is checked as in the long run: a failure here is a bug in deepen (or in a case's
// expectation), reproduced with the printed `npm run fuzz -- --seed S --case I`.
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatReport, runFuzz } from "./suite.js";

/** Sized to finish in about a minute inside the suite: alone on two cores 100 cases take 22 s; in the
 * suite, beside other test files, about twice that. */
export const TEST_CASES = 200;
export const TEST_SEED = 15;

test(
  `fuzz: ${TEST_CASES} seeded corrupted inputs through inspect, upscale, eval and merge`,
  { timeout: 300_000 },
  async () => {
    const report = await runFuzz({
      cases: TEST_CASES,
      seed: TEST_SEED,
      jobs: 2,
      limits: { timeoutMs: 20_000, heapMb: 512, rssMb: 1024 },
    });
    const failing = report.outcomes.filter((o) => o.violations.length > 0);
    assert.equal(failing.length, 0, formatReport(report));
  },
);
