// The area under the ROC curve of a score that should be higher for members (texts seen in
// training) than for non-members, computed exactly as the Mann–Whitney U statistic: the probability
// that a random member scores above a random non-member, a tie counting one half. No threshold is
// chosen; 0.5 is a score that does not separate the two at all, 1 one that separates them perfectly
// (and 0 one that separates them the wrong way round).

/** ROC AUC of `scores` for `labels` (1 = member), ties counted half. NaN unless both classes occur. */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<0 | 1>): number {
  const n = scores.length;
  if (labels.length !== n) throw new RangeError(`rocAuc: ${n} scores but ${labels.length} labels`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  // Ranks from 1, tied scores sharing the mean of their ranks: a member tied with a non-member then
  // adds one half to U.
  let memberRanks = 0;
  let members = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) {
      if (labels[order[t]!] === 1) {
        memberRanks += rank;
        members++;
      }
    }
    i = j + 1;
  }
  const nonMembers = n - members;
  if (members === 0 || nonMembers === 0) return NaN;
  const u = memberRanks - (members * (members + 1)) / 2;
  return u / (members * nonMembers);
}
