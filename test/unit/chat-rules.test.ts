/** The pure rules of the chat pipeline: thresholds, heuristics, interventions, readiness. */
import { describe, expect, it } from 'vitest';
import { chooseIntervention, interventionKey, type ContradictionFact, type SignalFact } from '../../activities/chat-interventions.js';
import { isConfirmation, structureReady } from '../../activities/chat-suggestions.js';
import { detectInflectionLocally } from '../../activities/llm/purposes/inflection.js';
import { classifySentence, extractSignalsLocally } from '../../activities/llm/purposes/signal-extraction.js';
import { titleLocally } from '../../activities/llm/purposes/title.js';
import { cosineSimilarity, hashEmbedding } from '../../activities/llm/local-embedder.js';
import { signalTextHash } from '../../activities/signals.js';
import { suggestableAgents } from '../../workflows/agents/catalog.js';
import { inflectionCheckpoint } from '../../workflows/chat/assistant-response.js';

const fact = (id: string, type: string, text = `${type} ${id}`): SignalFact => ({ id, type, text });

describe('inflection checkpoint (every 3 user turns)', () => {
  it('fires when a batch reaches or skips over a multiple of 3', () => {
    expect(inflectionCheckpoint(0, 1)).toBeNull();
    expect(inflectionCheckpoint(1, 2)).toBeNull();
    expect(inflectionCheckpoint(2, 3)).toBe(3);
    expect(inflectionCheckpoint(3, 4)).toBeNull();
    expect(inflectionCheckpoint(4, 7)).toBe(6);
    expect(inflectionCheckpoint(6, 6)).toBeNull();
  });
});

describe('proactive interventions', () => {
  it('asks for criteria when a decision has none, once per signal', () => {
    const signals = [fact('d1', 'decision')];
    const first = chooseIntervention(signals, new Set());
    expect(first).toMatchObject({ rule: 'decision-without-criteria', signalId: 'd1' });
    expect(chooseIntervention(signals, new Set(['decision-without-criteria:d1']))).toBeNull();
    expect(chooseIntervention([...signals, fact('c1', 'criterion')], new Set())).toBeNull();
  });

  it('asks for a mitigation of a risk, and flags three open questions', () => {
    expect(chooseIntervention([fact('r1', 'risk')], new Set())?.rule).toBe('risk-without-mitigation');
    expect(chooseIntervention([fact('r1', 'risk'), fact('m1', 'mitigation')], new Set())).toBeNull();
    const questions = [fact('q1', 'question'), fact('q2', 'question')];
    expect(chooseIntervention(questions, new Set())).toBeNull();
    expect(chooseIntervention([...questions, fact('q3', 'question')], new Set())?.rule).toBe('open-questions');
  });

  it('flags evidence against an assumption once per (assumption, evidence) pair, before the standing gaps', () => {
    const signals = [fact('a1', 'assumption', 'Rents are 2000 pounds a month'), fact('r1', 'risk')];
    const against: ContradictionFact[] = [
      { signalId: 'a1', evidenceId: 'e1', evidenceText: 'Rents are 3500 pounds a month, the agent wrote.' },
      { signalId: 'a1', evidenceId: 'e2', evidenceText: `A listing asks 2900 pounds. ${'More words. '.repeat(40)}` },
    ];
    const first = chooseIntervention(signals, new Set(), against);
    expect(first).toMatchObject({ rule: 'assumption-contradicted', signalId: 'a1', evidenceId: 'e1' });
    expect(first!.text).toContain('"Rents are 2000 pounds a month"');
    expect(first!.text).toContain('Rents are 3500 pounds a month, the agent wrote.');
    expect(interventionKey(first!)).toBe('assumption-contradicted:a1:e1');
    const second = chooseIntervention(signals, new Set(['assumption-contradicted:a1:e1']), against);
    expect(second).toMatchObject({ evidenceId: 'e2' });
    // A long item is quoted, not pasted.
    expect(second!.text.length).toBeLessThan(400);
    expect(second!.text).toContain('…');
    // Both pairs said: the other rules speak again.
    expect(chooseIntervention(signals, new Set(['assumption-contradicted:a1:e1', 'assumption-contradicted:a1:e2']), against)?.rule).toBe('risk-without-mitigation');
  });

  it('evidence against a signal that is no active assumption of the thread says nothing', () => {
    const against: ContradictionFact[] = [{ signalId: 'r1', evidenceId: 'e1', evidenceText: 'The landlord will not sell.' }];
    expect(chooseIntervention([fact('r1', 'risk'), fact('m1', 'mitigation')], new Set(), against)).toBeNull();
    expect(chooseIntervention([fact('a2', 'assumption')], new Set(), [{ ...against[0]!, signalId: 'a1' }])).toBeNull();
  });
});

describe('structure readiness', () => {
  const ready = { userTurns: 4, activeSignals: 5, signalTypes: 3 };
  it('needs 4 turns, 5 signals and 3 types', () => {
    expect(structureReady(ready)).toBe(true);
    expect(structureReady({ ...ready, userTurns: 3 })).toBe(false);
    expect(structureReady({ ...ready, activeSignals: 4 })).toBe(false);
    expect(structureReady({ ...ready, signalTypes: 2 })).toBe(false);
  });
  it('never repeats a pending or accepted suggestion; a declined one returns after 10 turns', () => {
    expect(structureReady({ ...ready, latest: { status: 'pending', turn: 4 } })).toBe(false);
    expect(structureReady({ ...ready, userTurns: 40, latest: { status: 'accepted', turn: 4 } })).toBe(false);
    expect(structureReady({ ...ready, userTurns: 13, latest: { status: 'declined', turn: 4 } })).toBe(false);
    expect(structureReady({ ...ready, userTurns: 14, latest: { status: 'declined', turn: 4 } })).toBe(true);
  });
});

describe('local heuristics', () => {
  it('classifies sentences by their cues and ignores short ones', () => {
    expect(classifySentence('Our goal is to grow.')?.type).toBe('goal');
    expect(classifySentence('Should we lease the ovens?')?.type).toBe('question');
    expect(classifySentence('The budget must stay small.')?.type).toBe('constraint');
    expect(classifySentence('The weather was nice today.')).toBeNull();
    expect(extractSignalsLocally(['Ok.'])).toEqual([]);
  });

  it('titles, confirms and detects inflection deterministically', () => {
    expect(titleLocally(['we want to open a bakery in leeds next spring'])).toBe('We want to open a bakery in');
    expect(titleLocally([''])).toBe('New conversation');
    expect(isConfirmation('Yes, please')).toBe(true);
    expect(isConfirmation('yesterday we met')).toBe(false);
    const agents = [{ type: 'research', description: '', cues: ['research', 'sources'] }];
    expect(detectInflectionLocally(['please research the sources'], agents)).toMatchObject({ agentType: 'research', confidence: 0.8 });
    expect(detectInflectionLocally(['hello'], agents)).toBeNull();
  });

  it('suggests the catalog\'s critique and brief agents by two of their cues each, and research still by its own', () => {
    const catalog = suggestableAgents().map((a) => ({ type: a.type, description: a.description, cues: a.cues }));
    expect(detectInflectionLocally(['Could you critique this? The sourcing feels one-sided.'], catalog)).toMatchObject({ agentType: 'critique', confidence: 0.8 });
    expect(detectInflectionLocally(['Please write up a memo I can send to the bank.'], catalog)).toMatchObject({ agentType: 'brief', confidence: 0.8 });
    expect(detectInflectionLocally(['Could you research the sources on bakery rents?'], catalog)).toMatchObject({ agentType: 'research', confidence: 0.8 });
    // One passing word is no suggestion (below the 0.75 threshold).
    expect(detectInflectionLocally(['We reviewed the brief yesterday.'], catalog)).toBeNull();
  });

  it('embeds by feature hashing: deterministic, unit length, similar text closer', () => {
    const a = hashEmbedding('open a bakery in leeds', 64);
    expect(hashEmbedding('open a bakery in leeds', 64)).toEqual(a);
    expect(Math.hypot(...a)).toBeCloseTo(1, 6);
    const near = cosineSimilarity(a, hashEmbedding('open a bakery in york', 64));
    const far = cosineSimilarity(a, hashEmbedding('quarterly tax filing deadline', 64));
    expect(near).toBeGreaterThan(far);
  });

  it('treats case, spacing and end punctuation as the same signal', () => {
    expect(signalTextHash('The budget is tight.')).toBe(signalTextHash('  the budget   is TIGHT '));
    expect(signalTextHash('The budget is tight')).not.toBe(signalTextHash('The budget is loose'));
  });
});
