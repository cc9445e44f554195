/**
 * Token-aware chunking (gpt-tokenizer, o200k_base): the text is cut into sentences (and
 * sentences longer than the overlap into runs of words), then packed into chunks of at
 * most `chunkTokens`, each repeating up to `overlapTokens` from the end of the one before.
 * Deterministic: the same text and sizes give the same chunks, which a resumed embedding
 * relies on. Linear in the text: tokens are counted by ../parse/tokens.ts (bounded pieces), and
 * each split below starts only where its first character matches and never backtracks past
 * the run it scanned (`\n\s*\n` from a newline, the sentence split from after `.!?`).
 * CPU-bound: the embedding activity runs it through the parse pool.
 */
import { decode } from 'gpt-tokenizer';
import { countTokens, encodeTokens } from '../parse/tokens.js';

export interface ChunkSizes {
  chunkTokens: number;
  overlapTokens: number;
}

export interface Chunk {
  text: string;
  /** Tokens of `text` itself. */
  tokens: number;
}

const MIN_UNIT_TOKENS = 16;

interface Unit {
  text: string;
  tokens: number;
  /** What joins it to the unit before: a paragraph break, a line break or a space. */
  sep: string;
}

/** A piece of a sentence; `glued` when it continues a word cut by tokens (no space before it). */
interface Run {
  text: string;
  tokens: number;
  glued: boolean;
}

/** A word longer than the cap (a URL, a run of digits): cut by tokens, the pieces glued together again. */
function splitWord(word: string, cap: number): Run[] {
  const tokens = encodeTokens(word);
  const runs: Run[] = [];
  for (let i = 0; i < tokens.length; i += cap) {
    const piece = tokens.slice(i, i + cap);
    runs.push({ text: decode(piece), tokens: piece.length, glued: i > 0 });
  }
  return runs;
}

/** A sentence as runs of whole words of at most `cap` tokens each. */
function splitSentence(sentence: string, cap: number): Run[] {
  const tokens = countTokens(sentence);
  if (tokens <= cap) return [{ text: sentence, tokens, glued: false }];
  const runs: Run[] = [];
  let words: string[] = [];
  let size = 0;
  const flush = () => {
    if (words.length > 0) runs.push({ text: words.join(' '), tokens: size, glued: false });
    words = [];
    size = 0;
  };
  for (const word of sentence.split(/\s+/)) {
    const n = countTokens(` ${word}`);
    if (n > cap) {
      flush();
      runs.push(...splitWord(word, cap));
      continue;
    }
    if (size + n > cap) flush();
    words.push(word);
    size += n;
  }
  flush();
  return runs;
}

function unitsOf(text: string, cap: number): Unit[] {
  const units: Unit[] = [];
  for (const paragraph of text.split(/\n\s*\n/)) {
    let sep = '\n\n';
    for (const line of paragraph.split('\n')) {
      for (const sentence of line.trim().split(/(?<=[.!?])\s+/)) {
        if (!sentence) continue;
        for (const run of splitSentence(sentence, cap)) {
          const joint = run.glued ? '' : sep;
          // A line or paragraph break is a token of its own; a space joins the next word's.
          units.push({ text: run.text, tokens: run.tokens + (joint.includes('\n') ? 1 : 0), sep: joint });
          sep = ' ';
        }
      }
      if (sep === ' ') sep = '\n';
    }
  }
  return units;
}

function join(units: Unit[]): Chunk {
  const text = units.map((u, i) => (i === 0 ? u.text : u.sep + u.text)).join('');
  return { text, tokens: countTokens(text) };
}

export function chunkText(text: string, sizes: ChunkSizes): Chunk[] {
  const { chunkTokens } = sizes;
  const overlap = Math.min(sizes.overlapTokens, chunkTokens - 1);
  // Units no longer than the overlap, so the end of every chunk can be repeated (but not
  // so short that every word becomes a unit).
  const cap = Math.min(chunkTokens, Math.max(overlap, MIN_UNIT_TOKENS));
  const chunks: Chunk[] = [];
  let current: Unit[] = [];
  let size = 0;
  for (const unit of unitsOf(text, cap)) {
    if (current.length > 0 && size + unit.tokens > chunkTokens) {
      chunks.push(join(current));
      const kept: Unit[] = [];
      let keptSize = 0;
      for (let i = current.length - 1; i >= 0 && keptSize + current[i]!.tokens <= overlap; i--) {
        kept.unshift(current[i]!);
        keptSize += current[i]!.tokens;
      }
      while (kept.length > 0 && keptSize + unit.tokens > chunkTokens) keptSize -= kept.shift()!.tokens;
      current = kept;
      size = keptSize;
    }
    current.push(unit);
    size += unit.tokens;
  }
  if (current.length > 0) chunks.push(join(current));
  return chunks;
}
