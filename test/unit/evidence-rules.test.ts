/**
 * The `local` rules of the evidence purposes (issue 17): what each rule decides, one case
 * per rule and its edges. Words, negations and numbers only: they are rules, not a model.
 */
import { describe, expect, it } from 'vitest';
import { analyseClaim, foldPlural, numberMismatch, overlap, parseNumber } from '../../activities/llm/purposes/claims.js';
import { findContradictionsLocally } from '../../activities/llm/purposes/contradiction.js';
import { linkEvidenceLocally } from '../../activities/llm/purposes/evidence-link.js';
import { scoreEvidenceLocally, type EvidenceScoringInput } from '../../activities/llm/purposes/evidence-scoring.js';
import { createLocalLlm } from '../../activities/llm/llm.js';
import type { LlmUsage } from '../../activities/llm/types.js';

const RENT_2000 = 'We assume rents near the station are about 2000 pounds a month.';
const RENT_3500 = 'Rents near the station are 3500 pounds a month, says the letting agent.';

describe('claims: the words a rule sees', () => {
  it('keeps content words, folds plurals, drops function words, hedges and numbers', () => {
    expect([...analyseClaim(RENT_2000).words].sort()).toEqual(['month', 'near', 'pound', 'rent', 'station']);
    expect(foldPlural('companies')).toBe('company');
    expect(foldPlural('glass')).toBe('glass');
    expect(foldPlural('status')).toBe('status');
  });

  it('reads numbers with separators and suffixes, and nothing else as one', () => {
    expect(parseNumber('2,000')).toEqual({ value: 2000, suffixed: false });
    expect(parseNumber('3.5')).toEqual({ value: 3.5, suffixed: false });
    expect(parseNumber('150k')).toEqual({ value: 150_000, suffixed: true });
    expect(parseNumber('2000s')).toBeUndefined();
    expect(parseNumber('rent')).toBeUndefined();
  });

  it('sees negation words, n\'t included, per sentence, and hedges', () => {
    expect([...analyseClaim('The lease is not renewable.').negatedWords].sort()).toEqual(['lease', 'renewable']);
    expect([...analyseClaim("The lease isn't renewable.").negatedWords].sort()).toEqual(['lease', 'renewable']);
    expect(analyseClaim('The lease is renewable.').negatedWords.size).toBe(0);
    // The sentence with the negation only; 3.5 does not end a sentence.
    expect([...analyseClaim('Rent is 3.5 thousand. The landlord will not sell').negatedWords].sort()).toEqual(['landlord', 'sell']);
    expect(analyseClaim('Reportedly the lease is renewable.').hedged).toBe(true);
  });

  it('calls two claims related at 2 shared words and 40 % of the smaller one', () => {
    expect(overlap(analyseClaim(RENT_2000), analyseClaim(RENT_3500)).related).toBe(true);
    // One shared word ("station") is not enough.
    expect(overlap(analyseClaim(RENT_2000), analyseClaim('The station is being rebuilt by the council.')).related).toBe(false);
    // Two shared words in a long text are under 40 % of the smaller claim's words.
    const long = analyseClaim('Rent and station aside, the bakery, ovens, flour, staff, hours, parking, delivery, and signage all matter.');
    const short = analyseClaim('Rent near the station, parking, delivery hours and signage.');
    expect(overlap(long, short)).toMatchObject({ related: true });
    expect(overlap(analyseClaim('rent station ovens flour staff'), analyseClaim('rent station bakery leeds spring goals budget'))).toMatchObject({ shared: ['rent', 'station'], related: true });
    expect(overlap(analyseClaim('rent station a b c d e f g h'), analyseClaim('rent station one two three four five six'))).toMatchObject({ related: false });
  });
});

describe('number mismatch', () => {
  it('fires for the same quantity word with no value in common', () => {
    expect(numberMismatch(analyseClaim(RENT_3500), analyseClaim(RENT_2000))?.reason).toBe('the numbers for "pound" differ: 3500 against 2000');
    expect(analyseClaim('The rent is 2000.').numbers).toEqual([{ value: 2000, unit: 'rent' }]);
    expect(numberMismatch(analyseClaim('3 ovens cost 2000 pounds.'), analyseClaim('3 ovens cost 5000 pounds.'))?.reason).toMatch(/"pound" differ: 2000 against 5000/);
  });

  it('does not fire when a value is common, or the numbers count different things', () => {
    expect(numberMismatch(analyseClaim('Rents are 2000 or 3000 pounds a month.'), analyseClaim('Rents are 2000 pounds a month.'))).toBeUndefined();
    expect(numberMismatch(analyseClaim('The bakery has 3 ovens.'), analyseClaim('The bakery opened in 2019 downtown.'))).toBeUndefined();
  });
});

describe('evidence-link (local)', () => {
  const candidates = [
    { id: 'rent', type: 'assumption', text: RENT_2000 },
    { id: 'goal', type: 'goal', text: 'Our goal is to open a second bakery in Leeds next spring.' },
    { id: 'lease', type: 'assumption', text: 'The landlord will renew the lease for five years.' },
  ];
  const decide = (evidence: string) => Object.fromEntries(linkEvidenceLocally({ evidence, candidates }).map((d) => [d.signalId, d]));

  it('neutral when unrelated, contradicts on a number mismatch, supports when the claim agrees', () => {
    const d = decide(RENT_3500);
    expect(d.goal).toMatchObject({ relation: 'neutral', reasoning: 'no claim in common' });
    expect(d.rent).toMatchObject({ relation: 'contradicts' });
    expect(d.rent!.reasoning).toBe('contradicts: the numbers for "pound" differ: 3500 against 2000');
    expect(decide('Rents near the station are 2000 pounds a month, the agent confirms.').rent).toMatchObject({ relation: 'supports' });
  });

  it('a negation on one side flips supports into contradicts', () => {
    expect(decide('The landlord will renew the lease, the letter says.').lease!.relation).toBe('supports');
    const negated = decide('The landlord will not renew the lease, the letter says.').lease!;
    expect(negated.relation).toBe('contradicts');
    expect(negated.reasoning).toBe('contradicts: the evidence negates the shared claim (landlord, lease, renew)');
    // A negation in another sentence does not deny the shared claim.
    expect(decide('The landlord will renew the lease. The bank will not lend.').lease!.relation).toBe('supports');
  });

  it('scores related ones 0.5 + 0.5 × the shared share, neutral ones below 0.5', () => {
    const d = decide(RENT_3500);
    expect(d.rent!.score).toBe(1);
    expect(d.goal!.score).toBe(0);
  });
});

describe('contradiction (local)', () => {
  const candidates = [
    { key: 'signal:rent', kind: 'signal' as const, text: RENT_2000 },
    { key: 'evidence:lease', kind: 'evidence' as const, text: 'The landlord will renew the lease for five years.' },
    { key: 'evidence:agree', kind: 'evidence' as const, text: 'Rents near the station are 3500 pounds a month in 2026.' },
    { key: 'evidence:other', kind: 'evidence' as const, text: 'Flour prices rose by 12 percent last year.' },
  ];

  it('names the number mismatch and the negation, nothing that agrees or is unrelated', () => {
    const found = findContradictionsLocally({ item: `${RENT_3500} The landlord will not renew the lease.`, candidates });
    expect(found.map((f) => f.key)).toEqual(['signal:rent', 'evidence:lease']);
    expect(found[0]!.reason).toBe('number-mismatch: the numbers for "pound" differ: 3500 against 2000');
    expect(found[1]!.reason).toMatch(/^negation: the new evidence negates the shared claim/);
    expect(found.every((f) => f.score > 0.5 && f.score <= 1)).toBe(true);
  });

  it('two negated claims agree', () => {
    expect(findContradictionsLocally({ item: 'The landlord will not renew the lease.', candidates: [{ key: 'e', kind: 'evidence', text: 'The landlord will never renew the lease.' }] })).toEqual([]);
  });
});

describe('evidence-scoring (local)', () => {
  const base: EvidenceScoringInput = {
    text: 'The bakery market in Leeds grew last year.',
    source: {},
    caseTitle: 'A second bakery in Leeds',
    caseDescription: 'Where and when to open it',
    signals: [RENT_2000],
  };

  it('relevance grows with the words shared with the case, a number and a quantity', () => {
    expect(scoreEvidenceLocally({ ...base, text: 'Penguins live in Antarctica.' }).relevance).toBe(0.2);
    // bakery, leeds: 2 of 3 words for full coverage.
    expect(scoreEvidenceLocally(base).relevance).toBe(0.53);
    expect(scoreEvidenceLocally({ ...base, text: 'The bakery market in Leeds grew 12 times since the station opened.' }).relevance).toBe(0.85);
    expect(scoreEvidenceLocally({ ...base, text: RENT_3500 }).relevance).toBe(1);
  });

  it('credibility grows with a source URL, title and document, and falls when hedged', () => {
    expect(scoreEvidenceLocally(base).credibility).toBe(0.3);
    expect(scoreEvidenceLocally({ ...base, source: { url: 'https://example.org/a', title: 'Market report', documentId: 'd' } }).credibility).toBe(0.9);
    expect(scoreEvidenceLocally({ ...base, text: `Reportedly, ${base.text}` }).credibility).toBe(0.1);
  });

  it('says which rules fired', () => {
    expect(scoreEvidenceLocally({ ...base, text: RENT_3500, source: { url: 'https://example.org' } }).rationale).toBe(
      'local rules: shares 5 word(s) with the case (month, near, pound, rent, station); states a quantity; names its source',
    );
  });
});

describe('the local Llm', () => {
  it('meters each purpose under its name, and makes no call without candidates', async () => {
    const llm = createLocalLlm();
    const calls: LlmUsage[] = [];
    const call = { usage: { record: (u: LlmUsage) => void calls.push(u) } };
    await llm.scoreEvidence({ text: 'x', source: {}, caseTitle: 'c', signals: [] }, call);
    await llm.linkEvidence({ evidence: 'x', candidates: [{ id: 's', type: 'goal', text: 'y' }] }, call);
    await llm.findContradictions({ item: 'x', candidates: [{ key: 'signal:s', kind: 'signal', text: 'y' }] }, call);
    expect(await llm.linkEvidence({ evidence: 'x', candidates: [] }, call)).toEqual([]);
    expect(await llm.findContradictions({ item: 'x', candidates: [] }, call)).toEqual([]);
    expect(calls.map((c) => [c.purpose, c.provider, c.model])).toEqual([
      ['evidence-scoring', 'local', 'local-rules'],
      ['evidence-link', 'local', 'local-rules'],
      ['contradiction', 'local', 'local-rules'],
    ]);
    expect(calls.every((c) => c.promptTokens > 0)).toBe(true);
  });
});
