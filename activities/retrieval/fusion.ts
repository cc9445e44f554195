/**
 * Reciprocal rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009): a candidate scores
 * Σ 1 / (RRF_K + rank) over the ranked lists that hold it. Ranks, not scores, are fused,
 * so `ts_rank_cd` and cosine need no common scale, and a source of another kind joins
 * a list by contributing candidates. Pure and deterministic: every tie has a rule.
 */
import type { Candidate, PassageKind, PassageScores } from './types.js';

/**
 * The paper's constant. Large enough that rank 1 is not worth much more than rank 5
 * (1/61 against 1/65), so a passage found by both retrievers beats one found by a single
 * retriever at the top unless it sits past about rank 60 in both lists.
 */
export const RRF_K = 60;

export interface FusedCandidate {
  kind: PassageKind;
  id: string;
  scores: PassageScores;
}

const compareKeys = (a: { kind: string; id: string }, b: { kind: string; id: string }): number =>
  a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

/** One retriever's list over every source: best score first, ties by kind then id; at most `limit`. */
export function rankCandidates(candidates: readonly Candidate[], limit: number): Candidate[] {
  return [...candidates].sort((a, b) => b.score - a.score || compareKeys(a, b)).slice(0, limit);
}

const bestRank = (s: PassageScores): number => Math.min(s.fullTextRank ?? Infinity, s.vectorRank ?? Infinity);

/**
 * Fused best first. Ties: the better best rank, then the better full-text rank (a word
 * match is the more checkable reason), then kind and id.
 */
function compareFused(a: FusedCandidate, b: FusedCandidate): number {
  return (
    b.scores.fused - a.scores.fused ||
    bestRank(a.scores) - bestRank(b.scores) ||
    (a.scores.fullTextRank ?? Infinity) - (b.scores.fullTextRank ?? Infinity) ||
    compareKeys(a, b)
  );
}

/** Each list best first, as `rankCandidates` makes it; a candidate appears at most once per list. */
export function reciprocalRankFusion(lists: { fullText: readonly Candidate[]; vector: readonly Candidate[] }, rrfK = RRF_K): FusedCandidate[] {
  const fused = new Map<string, FusedCandidate>();
  const entry = (c: Candidate): FusedCandidate => {
    const key = `${c.kind}:${c.id}`;
    let found = fused.get(key);
    if (!found) {
      found = { kind: c.kind, id: c.id, scores: { fused: 0, fullText: null, cosine: null, fullTextRank: null, vectorRank: null } };
      fused.set(key, found);
    }
    return found;
  };
  lists.fullText.forEach((c, i) => {
    const { scores } = entry(c);
    scores.fullText = c.score;
    scores.fullTextRank = i + 1;
    scores.fused += 1 / (rrfK + i + 1);
  });
  lists.vector.forEach((c, i) => {
    const { scores } = entry(c);
    scores.cosine = c.score;
    scores.vectorRank = i + 1;
    scores.fused += 1 / (rrfK + i + 1);
  });
  return [...fused.values()].sort(compareFused);
}
