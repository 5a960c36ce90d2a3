import assert from "node:assert/strict";
import { test } from "node:test";
import type { EncodedExample } from "../../../src/train/sft/encodeExample.js";
import { lengthBuckets, SftBatcher } from "../../../src/train/sft/sftBatcher.js";

let r = 11;
const rnd = () => (r = (r * 48271) % 2147483647) / 2147483647;
// Example i is tokens [i, i, …] so a row tells which examples it holds.
const examples: EncodedExample[] = Array.from({ length: 300 }, (_, i) => {
  const n = 6 + Math.floor(rnd() * 56);
  return { tokens: new Array<number>(n).fill(i), trained: new Uint8Array(n).fill(1) };
});

test("packing: an epoch holds every example once, whole, in rows filled to over 95 %", () => {
  const T = 128;
  const batcher = new SftBatcher(examples, 5, T, 4, true, -1);
  const seen = new Map<number, number>();
  let used = 0;
  let rows = 0;
  while (batcher.position().epoch === 0) {
    const b = batcher.next();
    for (let k = 0; k < 4; k++) {
      const segs = b.segments![k]!;
      if (segs.every((s) => s === 0)) continue; // a row from the next epoch's start was not needed
      rows++;
      b.tokens[k]!.forEach((t, i) => {
        if (segs[i] === 0) return;
        used++;
        if (i === 0 || segs[i - 1] !== segs[i]) {
          seen.set(t, (seen.get(t) ?? 0) + 1);
          assert.equal(b.positions![k]![i], 0, "positions restart at each example");
        }
      });
    }
  }
  const firstEpochRows = rows;
  assert.ok(firstEpochRows > 0);
  assert.equal(seen.size, examples.length, "every example is in the epoch");
  for (const [i, count] of seen) assert.ok(count >= 1 && count <= 2, `example ${i} seen ${count} times`);
  assert.ok(used / (rows * T) > 0.95, `rows ${((100 * used) / (rows * T)).toFixed(1)} % full`);
});

test("the data position restores the same batches, packed and unpacked", () => {
  for (const pack of [true, false]) {
    const a = new SftBatcher(examples, 9, 128, 3, pack, -1);
    for (let i = 0; i < 40; i++) a.next();
    const pos = a.position();
    const next = [a.next(), a.next()];
    const b = new SftBatcher(examples, 9, 128, 3, pack, -1);
    b.restore(pos);
    assert.deepEqual([b.next(), b.next()], next);
  }
});

test("unpacked rows pad only to the shortest bucket that holds the micro-batch", () => {
  assert.deepEqual(lengthBuckets(256), [32, 64, 128, 256]);
  assert.deepEqual(lengthBuckets(100), [16, 32, 56, 100]);
  const batcher = new SftBatcher(examples, 1, 128, 4, false, -1);
  for (let i = 0; i < 20; i++) {
    const b = batcher.next();
    const T = b.tokens[0]!.length;
    const longest = Math.max(...b.weights.map((w) => w.lastIndexOf(1) + 1));
    assert.ok(lengthBuckets(128).includes(T) && longest <= T);
    assert.ok(
      lengthBuckets(128)
        .filter((t) => t < T)
        .every((t) => t < longest),
      `row ${T} for ${longest}`,
    );
  }
});
