import assert from "node:assert/strict";
import { test } from "node:test";
import { karcher } from "../../../src/merge/methods/karcher.js";
import { input, near } from "./input.js";

test("karcher: two unit vectors give their normalized midpoint", () => {
  // (1, 0), (0, 1): the geodesic midpoint is (1, 1)/√2 = (0.7071068, 0.7071068); mean norm 1.
  near(
    karcher.merge(
      input([
        [1, 0],
        [0, 1],
      ]),
    ),
    [0.7071068, 0.7071068],
  );
  // (2, 0), (0, 4): the same direction, scaled by the mean norm 3 → (2.1213203, 2.1213203).
  near(
    karcher.merge(
      input([
        [2, 0],
        [0, 4],
      ]),
    ),
    [2.1213203, 2.1213203],
  );
});

test("karcher: the spherical mean differs from the normalized arithmetic mean", () => {
  // Directions at 0°, 0° and 90° on a circle: the Karcher mean is at their mean angle, 30°:
  // (cos 30°, sin 30°) = (0.8660254, 0.5). The normalized arithmetic mean (2, 1)/√5 would be (0.894, 0.447).
  near(
    karcher.merge(
      input([
        [1, 0, 0],
        [1, 0, 0],
        [0, 1, 0],
      ]),
    ),
    [0.8660254, 0.5, 0],
    1e-6,
  );
});

test("karcher: a zero tensor adds no direction but counts in the mean norm", () => {
  // (0, 0), (2, 0), (0, 2): direction (1, 1)/√2, scale (0 + 2 + 2)/3 = 4/3 → (0.9428090, 0.9428090).
  near(
    karcher.merge(
      input([
        [0, 0],
        [2, 0],
        [0, 2],
      ]),
    ),
    [0.942809, 0.942809],
  );
  near(
    karcher.merge(
      input([
        [0, 0],
        [0, 0],
      ]),
    ),
    [0, 0],
    0,
  );
});

test("karcher: max_iter must be an integer", () => {
  assert.throws(
    () =>
      karcher.merge(
        input(
          [
            [1, 0],
            [0, 1],
          ],
          { params: { max_iter: 2.5 } },
        ),
      ),
    /^MergeMethodError: karcher: parameter max_iter must be an integer, got 2.5/,
  );
});
