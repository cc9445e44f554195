/** Token-aware chunking: sizes, overlap, no text lost, deterministic. */
import { encode } from 'gpt-tokenizer';
import { describe, expect, it } from 'vitest';
import { chunkText } from '../../activities/documents/chunk.js';

const sentence = (i: number) => `Sentence number ${i} talks about ovens, flour and the rent near the station.`;
const text = Array.from({ length: 200 }, (_, i) => sentence(i) + (i % 7 === 6 ? '\n\n' : ' ')).join('');
const tokens = (s: string) => encode(s, { disallowedSpecial: new Set() }).length;

describe('chunkText', () => {
  it('cuts chunks of at most the size (give or take a token where merges differ) that overlap', () => {
    const chunks = chunkText(text, { chunkTokens: 100, overlapTokens: 20 });
    expect(chunks.length).toBeGreaterThan(10);
    for (const c of chunks) {
      expect(c.tokens).toBe(tokens(c.text));
      expect(c.tokens).toBeLessThanOrEqual(101);
    }
    for (let i = 1; i < chunks.length; i++) {
      // The next chunk starts with the last sentence of this one.
      const last = chunks[i - 1]!.text.split(/(?<=\.)\s+/).at(-1)!;
      expect(chunks[i]!.text.startsWith(last)).toBe(true);
    }
  });

  it('loses no sentence, and without overlap repeats none', () => {
    const chunks = chunkText(text, { chunkTokens: 80, overlapTokens: 0 });
    const all = chunks.map((c) => c.text).join(' ');
    for (let i = 0; i < 200; i++) expect(all.split(sentence(i)).length - 1).toBe(1);
  });

  it('cuts a sentence longer than a chunk at words, and a word longer than a chunk by tokens', () => {
    const long = `${'word '.repeat(300)}${'x'.repeat(3000)} end`;
    const chunks = chunkText(long, { chunkTokens: 50, overlapTokens: 5 });
    for (const c of chunks) expect(c.tokens).toBeLessThanOrEqual(51);
    expect(chunks.map((c) => c.text).join('')).toContain('x'.repeat(500));
    expect(chunks.at(-1)!.text.endsWith('end')).toBe(true);
  });

  it('is deterministic, and treats special-token lookalikes as text', () => {
    const odd = `${text} <|endoftext|> is just text here.`;
    expect(chunkText(odd, { chunkTokens: 64, overlapTokens: 8 })).toEqual(chunkText(odd, { chunkTokens: 64, overlapTokens: 8 }));
    expect(chunkText('', { chunkTokens: 64, overlapTokens: 8 })).toEqual([]);
  });
});
