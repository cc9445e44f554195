/**
 * The grounding gate (Decision 5): a finding may cite only a source this run retrieved, and
 * its quote must occur in that source's text after whitespace normalisation (every run of
 * whitespace one space, trimmed; nothing else: case and punctuation must match). Pure and
 * linear: one pass over the source builds its normalised text with a map back to the
 * original offsets, so a citation can name the span of the source it came from.
 */
import { isSpace } from '../evidence/sentences.js';

export interface NormalisedText {
  text: string;
  /** `offsets[i]`: where the normalised text's character i sits in the original. */
  offsets: number[];
}

export function normaliseWhitespace(original: string): NormalisedText {
  const chars: string[] = [];
  const offsets: number[] = [];
  let pendingSpace = -1;
  for (let i = 0; i < original.length; i++) {
    const c = original[i]!;
    if (isSpace(c)) {
      if (chars.length > 0 && pendingSpace < 0) pendingSpace = i;
      continue;
    }
    if (pendingSpace >= 0) {
      chars.push(' ');
      offsets.push(pendingSpace);
      pendingSpace = -1;
    }
    chars.push(c);
    offsets.push(i);
  }
  return { text: chars.join(''), offsets };
}

export interface Span {
  start: number;
  end: number;
}

/** The quote's span in the original source text, or null when it does not occur there (or is empty). */
export function locateQuote(source: NormalisedText, quote: string): Span | null {
  const needle = normaliseWhitespace(quote).text;
  if (needle === '') return null;
  const at = source.text.indexOf(needle);
  if (at < 0) return null;
  return { start: source.offsets[at]!, end: source.offsets[at + needle.length - 1]! + 1 };
}

export type DropReason = 'unknown-source' | 'quote-not-in-source';

export interface GroundedFinding<F> {
  finding: F;
  sourceId: string;
  span: Span;
}

/**
 * Splits findings into those grounded in the run's sources and those dropped, with why.
 * `sourceOf` maps what the model named to a source of this run (undefined: not one).
 */
export function groundFindings<F extends { quote: string }>(
  findings: F[],
  sourceOf: (finding: F) => { id: string; text: NormalisedText } | undefined,
): { grounded: GroundedFinding<F>[]; dropped: { finding: F; reason: DropReason }[] } {
  const grounded: GroundedFinding<F>[] = [];
  const dropped: { finding: F; reason: DropReason }[] = [];
  for (const finding of findings) {
    const source = sourceOf(finding);
    if (!source) {
      dropped.push({ finding, reason: 'unknown-source' });
      continue;
    }
    const span = locateQuote(source.text, finding.quote);
    if (!span) dropped.push({ finding, reason: 'quote-not-in-source' });
    else grounded.push({ finding, sourceId: source.id, span });
  }
  return { grounded, dropped };
}
