/**
 * Token counts and encodings (gpt-tokenizer, o200k_base) whose cost grows with the text, not
 * its square. gpt-tokenizer cuts text into pieces (a word, a run of whitespace, a run of
 * punctuation: as long as the input makes them) and merges each piece's bytes pair by pair, a
 * pass over the piece per merge: 256 KiB of spaces took 72 s, 512 KiB 311 s. So text is cut
 * inside every run of whitespace, or of anything else, longer than MAX_RUN characters, and
 * each part is encoded alone. Ordinary text has no such run and is encoded exactly as before;
 * a cut moves a count by a token at most, and decoding the parts' tokens gives the text back.
 */
import { encode } from 'gpt-tokenizer';
import { isSpace } from './text.js';

/** Measured on random letters, punctuation and CJK: 128 costs 1.7-5.5 s per MiB, 64 and 256 more. */
export const MAX_RUN = 128;

/** Text that looks like a special token (`<|endoftext|>`) is text here, never refused. */
const AS_TEXT = { disallowedSpecial: new Set<string>() };

/** The text in parts, none holding a run of whitespace or of non-whitespace longer than MAX_RUN. */
function parts(text: string): string[] {
  if (text.length <= MAX_RUN) return [text];
  const out: string[] = [];
  let from = 0;
  let runStart = 0;
  let runSpace = isSpace(text.charCodeAt(0));
  for (let i = 1; i < text.length; i++) {
    const space = isSpace(text.charCodeAt(i));
    if (space !== runSpace) {
      runStart = i;
      runSpace = space;
      continue;
    }
    const c = text.charCodeAt(i);
    // Never between the two halves of a surrogate pair.
    if (i - runStart >= MAX_RUN && (c < 0xdc00 || c > 0xdfff)) {
      out.push(text.slice(from, i));
      from = i;
      runStart = i;
    }
  }
  out.push(text.slice(from));
  return out;
}

export function encodeTokens(text: string): number[] {
  const all = parts(text);
  if (all.length === 1) return encode(text, AS_TEXT);
  return all.flatMap((part) => encode(part, AS_TEXT));
}

export function countTokens(text: string): number {
  let n = 0;
  for (const part of parts(text)) n += encode(part, AS_TEXT).length;
  return n;
}
