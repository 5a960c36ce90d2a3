import assert from "node:assert/strict";
import { test } from "node:test";
import { METHODS, methodNamed, TASK_ARITHMETIC_VARIANTS } from "../../../src/merge/methods/registry.js";

const NAMES = [
  "linear",
  "slerp",
  "nuslerp",
  "task_arithmetic",
  "ties",
  "dare_ties",
  "dare_linear",
  "breadcrumbs",
  "breadcrumbs_ties",
  "della",
  "della_linear",
  "model_stock",
  "karcher",
];

test("the registry holds every method under its mergekit name, passthrough excluded", () => {
  assert.deepEqual(Object.keys(METHODS).sort(), [...NAMES].sort());
  for (const [key, m] of Object.entries(METHODS)) {
    assert.equal(m.name, key);
    assert.ok(m.reference.length > 0, `${key} names its reference`);
    assert.ok(m.minModels >= 1 && (m.maxModels === undefined || m.maxModels >= m.minModels));
  }
});

test("parameter specs are consistent: defaults of the right kind and inside their ranges", () => {
  for (const m of Object.values(METHODS)) {
    const names = [...m.globalParameters, ...m.modelParameters].map((p) => p.name);
    assert.equal(new Set(names).size, names.length, `${m.name}: parameter names are unique`);
    for (const p of [...m.globalParameters, ...m.modelParameters]) {
      assert.ok(p.doc.length > 0);
      if (p.default === undefined) continue;
      assert.equal(typeof p.default, p.kind, `${m.name}.${p.name} default kind`);
      if (typeof p.default === "number") {
        if (p.min !== undefined) assert.ok(p.minExclusive ? p.default > p.min : p.default >= p.min);
        if (p.max !== undefined) assert.ok(p.default <= p.max);
      }
    }
  }
});

test("mergekit's per-method defaults for normalize and rescale", () => {
  const def = (name: string, p: string) => METHODS[name]!.globalParameters.find((s) => s.name === p)?.default;
  const expected: Record<string, [boolean, boolean]> = {
    task_arithmetic: [false, false],
    ties: [true, false],
    dare_ties: [false, true],
    dare_linear: [false, true],
    breadcrumbs: [false, false],
    breadcrumbs_ties: [false, false],
    della: [true, true],
    della_linear: [false, true],
  };
  for (const [name, [normalize, rescale]] of Object.entries(expected)) {
    assert.equal(def(name, "normalize"), normalize, `${name} normalize`);
    assert.equal(def(name, "rescale"), rescale, `${name} rescale`);
    assert.equal(def(name, "lambda"), 1);
  }
  assert.equal(def("linear", "normalize"), true);
  assert.equal(TASK_ARITHMETIC_VARIANTS.length, 8);
  const spec = (name: string, p: string) => METHODS[name]!.modelParameters.find((s) => s.name === p);
  assert.equal(spec("breadcrumbs", "gamma")?.default, 0.01);
  assert.equal(spec("della", "epsilon")?.default, 0.15);
  assert.equal(spec("ties", "density")?.default, 1);
  assert.equal(spec("ties", "gamma"), undefined);
  assert.equal(spec("ties", "weight")?.default, undefined, "weight is required");
  const t = METHODS.slerp!.globalParameters.find((s) => s.name === "t")!;
  assert.deepEqual([t.min, t.max, t.default], [0, 1, undefined]);
});

test("methodNamed finds methods by own name only: names of the object prototype are no method", () => {
  for (const name of NAMES) assert.equal(methodNamed(name), METHODS[name]);
  for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf", "passthrough"])
    assert.equal(methodNamed(name), undefined, name);
});
