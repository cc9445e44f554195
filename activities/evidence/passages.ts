/**
 * Which passages of a completed document become evidence (issue 17): its most informative
 * sentences, by rule. A passage is one sentence, cut at sentence ends, of bounded length; it
 * is informative when it states something checkable: a number (more so a quantity, "3500
 * pounds", "12 %"), a date, a comparison ("higher than", "rose"), an explicit finding ("the
 * survey found", "according to"), names. Skipped: headings and lines that are navigation or
 * table furniture, fragments too short or too long to be a claim, questions, text that is
 * mostly not words, boilerplate ("all rights reserved", "subscribe"), and a passage seen
 * before. The best `max` by score (ties: the earlier), returned in document order.
 *
 * Pure, deterministic, and linear in the text: one pass over its characters (./sentences.ts),
 * then bounded work per sentence (the regular expressions here test one short token, or a
 * sentence already cut to a bounded length). A passage's text is normalised as the evidence
 * store keys it, so two passages that would be one item are one here.
 */
import { normaliseEvidenceText } from './store.js';
import { CLOSERS, documentSentences, isDigit, isLetter, isUpper, isSpace, wordCount } from './sentences.js';

export interface Passage {
  text: string;
  score: number;
  /** Its position among the document's sentences, for order and ties. */
  ordinal: number;
}

/** Shorter than this is a fragment (a caption, a label), not a claim. */
export const PASSAGE_MIN_CHARS = 40;
/** Longer than this is run-on text (a table read as one line, a missing full stop), not a sentence. */
export const PASSAGE_MAX_CHARS = 400;
const MIN_WORDS = 6;
/** A sentence needs at least a number, or two weaker cues, to count as informative. */
export const PASSAGE_MIN_SCORE = 2;
/** Of the visible characters, at least this share are letters: else it is data, code or a link list. */
const MIN_LETTER_SHARE = 0.6;

const MONTHS = new Set([
  'january', 'february', 'march', 'april', 'june', 'july', 'august', 'september', 'october', 'november', 'december',
  'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec',
]);
// Not "may": the verb is far more common than the month, and "May 2024" has its year.
const WEEKDAYS = new Set(['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']);
const COMPARISONS = new Set([
  'more', 'less', 'fewer', 'greater', 'higher', 'lower', 'larger', 'smaller', 'bigger', 'cheaper', 'dearer', 'faster', 'slower',
  'better', 'worse', 'than', 'versus', 'vs', 'compared', 'increase', 'increased', 'increases', 'decrease', 'decreased', 'decreases',
  'rose', 'risen', 'rise', 'rises', 'fell', 'fallen', 'grew', 'grown', 'dropped', 'declined', 'doubled', 'tripled', 'halved',
  'twice', 'exceed', 'exceeds', 'exceeded', 'outperformed', 'most', 'least',
]);
const FINDINGS = new Set([
  'found', 'finds', 'shows', 'showed', 'shown', 'concluded', 'concludes', 'reported', 'reports', 'according', 'survey', 'surveyed',
  'study', 'studies', 'analysis', 'evidence', 'indicates', 'indicated', 'suggests', 'revealed', 'reveals', 'measured',
  'estimated', 'estimates', 'confirmed', 'confirms', 'data', 'results', 'recorded', 'observed', 'census', 'audit',
]);
/** Words after a number that do not make it a quantity ("0: the", "3 of"). */
const NOT_A_UNIT = new Set(['the', 'a', 'an', 'of', 'and', 'or', 'to', 'in', 'on', 'at', 'is', 'are', 'was', 'were', 'it', 'this', 'that']);
const SECOND_PERSON = new Set(['you', 'your', "you're", 'yours']);
const BOILERPLATE = [
  'all rights reserved', 'copyright', '©', 'cookie', 'privacy policy', 'terms of use', 'terms and conditions', 'subscribe',
  'sign up', 'sign in', 'log in', 'click here', 'read more', 'share this', 'follow us', 'skip to', 'javascript', 'newsletter',
];
const DATE_SHAPE = /^\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}$/;
const YEAR = /^(1[89]|20)\d\d$/;
const QUARTER = /^(q[1-4]|h[12]|fy\d{2,4})$/;

/** A token's word: lower case, without the punctuation around it. */
function bare(token: string): string {
  let a = 0;
  let b = token.length;
  while (a < b && !isLetter(token[a]!) && !isDigit(token[a]!)) a++;
  while (b > a && !isLetter(token[b - 1]!) && !isDigit(token[b - 1]!)) b--;
  return token.slice(a, b).toLowerCase();
}

function firstWordChar(token: string): string {
  for (const c of token) if (isLetter(c) || isDigit(c)) return c;
  return '';
}

const hasDigit = (s: string) => {
  for (const c of s) if (isDigit(c)) return true;
  return false;
};
const CURRENCY_OR_PERCENT = ['%', '£', '$', '€', '¥'];

/** How informative a sentence is: 0 says nothing checkable; PASSAGE_MIN_SCORE and more makes a passage. */
export function informativeness(sentence: string): number {
  const tokens = sentence.split(' ');
  const words = tokens.map(bare);
  let number = false;
  let quantity = false;
  let date = false;
  let comparison = false;
  let finding = false;
  let names = 0;
  let secondPerson = false;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const word = words[i]!;
    if (hasDigit(word)) {
      number = true;
      const next = words[i + 1];
      if (CURRENCY_OR_PERCENT.some((m) => token.includes(m)) || (next && !hasDigit(next) && isLetter(next[0] ?? '') && !NOT_A_UNIT.has(next))) quantity = true;
      if (YEAR.test(word) || DATE_SHAPE.test(word)) date = true;
    }
    if (MONTHS.has(word) || WEEKDAYS.has(word) || QUARTER.test(word)) date = true;
    if (COMPARISONS.has(word)) comparison = true;
    if (FINDINGS.has(word)) finding = true;
    if (SECOND_PERSON.has(word)) secondPerson = true;
    // A capitalised word inside the sentence is a name (a place, a firm, a report).
    if (i > 0 && word.length > 1 && isUpper(firstWordChar(token))) names++;
  }
  let score = (number ? 2 : 0) + (quantity ? 1 : 0) + (date ? 1.5 : 0) + (comparison ? 1.5 : 0) + (finding ? 1.5 : 0);
  score += Math.min(names, 2) * 0.5;
  if (secondPerson) score -= 1;
  return score;
}

/** Why a sentence is no passage, or null when it may be one. */
export function skipReason(sentence: string): string | null {
  if (sentence.length < PASSAGE_MIN_CHARS) return 'too short';
  if (sentence.length > PASSAGE_MAX_CHARS) return 'too long';
  let last = sentence.length - 1;
  while (last > 0 && CLOSERS.has(sentence[last]!)) last--;
  if (sentence[last] === '?') return 'a question';
  if (wordCount(sentence) < MIN_WORDS) return 'too few words';
  let letters = 0;
  let visible = 0;
  for (const c of sentence) {
    if (isSpace(c)) continue;
    visible++;
    if (isLetter(c)) letters++;
  }
  if (letters < visible * MIN_LETTER_SHARE) return 'mostly not words';
  const lower = sentence.toLowerCase();
  if (BOILERPLATE.some((phrase) => lower.includes(phrase))) return 'boilerplate';
  return null;
}

/** Sentences looked at between two pauses of `scanPassages`: a few milliseconds of work. */
export const SENTENCES_PER_PAUSE = 2_000;

/**
 * The document's `max` most informative passages, in document order (the generator's return
 * value). It yields every SENTENCES_PER_PAUSE sentences, so a caller on a worker's event loop
 * can let other work in while it reads a large document.
 */
export function* scanPassages(text: string, max: number): Generator<void, Passage[]> {
  if (max <= 0) return [];
  const best: Passage[] = [];
  const seen = new Set<string>();
  let ordinal = 0;
  for (const raw of documentSentences(text)) {
    const at = ordinal++;
    if (at > 0 && at % SENTENCES_PER_PAUSE === 0) yield;
    // Normalising only shortens: one under the minimum stays under it, and one several times
    // over the maximum is not worth the copy.
    if (raw.length < PASSAGE_MIN_CHARS || raw.length > 4 * PASSAGE_MAX_CHARS) continue;
    const sentence = normaliseEvidenceText(raw);
    if (skipReason(sentence) !== null) continue;
    const key = sentence.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    const score = informativeness(sentence);
    if (score < PASSAGE_MIN_SCORE) continue;
    keepBest(best, { text: sentence, score, ordinal: at }, max);
  }
  return best.sort((a, b) => a.ordinal - b.ordinal);
}

/** `scanPassages` in one go. */
export function pickPassages(text: string, max: number): Passage[] {
  const scan = scanPassages(text, max);
  for (;;) {
    const step = scan.next();
    if (step.done) return step.value;
  }
}

/** Keeps `best` the top `max` by score, earlier first among equals (later ones come with higher ordinals). */
function keepBest(best: Passage[], candidate: Passage, max: number): void {
  if (best.length === max && best[max - 1]!.score >= candidate.score) return;
  let i = best.length;
  while (i > 0 && best[i - 1]!.score < candidate.score) i--;
  best.splice(i, 0, candidate);
  if (best.length > max) best.pop();
}
