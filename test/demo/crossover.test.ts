import assert from "node:assert/strict";
import { test } from "node:test";
import { crossover, meanCurve, meanSd, staysAhead } from "../../src/demo/crossover.js";

const curve = (losses: number[]) =>
  losses.map((loss, i) => ({ step: i * 10, tokens: i * 1000, loss, perplexity: Math.exp(loss) }));

test("the crossover is the first evaluation after step 0 at or below the control at the same step", () => {
  const control = curve([4.0, 3.8, 3.7, 3.6, 3.55]);
  const grown = curve([4.2, 3.9, 3.7, 3.58, 3.5]);
  assert.equal(crossover(control, grown)?.step, 20); // equal counts
  assert.ok(staysAhead(control, grown, 20));
  // Step 0 never counts, even when the grown model starts ahead (block expansion starts equal).
  assert.equal(crossover(control, curve([4.0, 3.9, 3.8, 3.7, 3.6])), undefined);
  // Ahead once, then behind again: the crossover is still the first, but it does not stay.
  const dip = curve([4.2, 3.79, 3.75, 3.65, 3.6]);
  assert.equal(crossover(control, dip)?.step, 10);
  assert.equal(staysAhead(control, dip, 10), false);
});

test("seeds: mean and sample deviation; curves averaged step by step in loss", () => {
  assert.deepEqual(meanSd([2]), { mean: 2, sd: 0 });
  const { mean, sd } = meanSd([1, 2, 3]);
  assert.equal(mean, 2);
  assert.equal(sd, 1);
  const m = meanCurve([curve([4, 3]), curve([2, 1])]);
  assert.deepEqual(
    m.map((e) => e.loss),
    [3, 2],
  );
  assert.equal(m[1]!.perplexity, Math.exp(2));
});
