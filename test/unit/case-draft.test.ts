/** The case draft's local rule (activities/agents/draft.ts `composeDraft`): what a drafted case says, from the thread's signals alone. */
import { describe, expect, it } from 'vitest';
import { composeDraft, type DraftSignal } from '../../activities/agents/draft.js';

const signal = (id: string, type: string, text: string): DraftSignal => ({ id, type, text });

describe('composeDraft', () => {
  const found = [
    signal('g1', 'goal', 'Open a second bakery in Leeds.'),
    signal('r1', 'risk', 'The landlord may sell'),
    signal('g2', 'goal', 'Hire two bakers'),
    signal('c1', 'constraint', 'Budget under 150k'),
    signal('x1', 'mitigation', 'Negotiate a right of first refusal'),
  ];

  it('titles the case after the thread, else its most confident goal, else its first signal', () => {
    expect(composeDraft('t', 'Leeds bakery', found).title).toBe('Leeds bakery');
    expect(composeDraft('t', null, found).title).toBe('Open a second bakery in Leeds.');
    expect(composeDraft('t', null, [signal('q', 'question', 'Lease or buy?')]).title).toBe('Lease or buy?');
    expect(composeDraft('t', null, []).title).toBe('A case drafted from a conversation');
    expect(composeDraft('t', 'x'.repeat(500), found).title).toHaveLength(120);
  });

  it('groups the signals into sections in reading order, other types after, keeping every id', () => {
    const { structure } = composeDraft('thread-1', null, found);
    expect(structure).toEqual({
      draftedFrom: 'thread-1',
      signals: 5,
      sections: [
        { key: 'goal', title: 'Goals', signalIds: ['g1', 'g2'] },
        { key: 'constraint', title: 'Constraints', signalIds: ['c1'] },
        { key: 'risk', title: 'Risks', signalIds: ['r1'] },
        { key: 'mitigation', title: 'mitigation', signalIds: ['x1'] },
      ],
    });
  });

  it('describes the leading items of each section, bounded', () => {
    const { description } = composeDraft('t', null, found);
    expect(description.split('\n')).toEqual([
      'Drafted from 5 signal(s) of a conversation.',
      'Goals: Open a second bakery in Leeds; Hire two bakers',
      'Constraints: Budget under 150k',
      'Risks: The landlord may sell',
      'mitigation: Negotiate a right of first refusal',
    ]);
    const many = Array.from({ length: 200 }, (_, i) => signal(`s${i}`, `type${i}`, 'y'.repeat(300)));
    expect(composeDraft('t', null, many).description.length).toBeLessThanOrEqual(2_000);
  });
});
