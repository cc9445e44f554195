/**
 * The words of a claim, for the `local` rules of the evidence purposes (evidence-scoring,
 * evidence-link, contradiction). Rules, not a model: they see shared words, negation words
 * and numbers, never meaning. Every pass is linear in the text (one tokenising regex whose
 * groups start with a character its first class excludes, so it cannot backtrack).
 */

/** Words that carry no claim: function words, and the hedges and cues people wrap claims in. */
const STOP_WORDS = new Set(
  (
    'a about above after again all also am an and any are around as at be because been before being below between both but by ' +
    'can could did do does doing down during each few for from further had has have having he her here hers him his how i if in ' +
    'into is it its itself just me more most my of off on once only or other our ours out over own same she should so some such ' +
    'than that the their theirs them then there these they this those through to too under until up very was we were what when ' +
    'where which while who whom why will with would you your yours ' +
    // hedges and signal cues: "we assume X" and "X" make the same claim
    'assume assumed assuming assumption believe expect expected think probably likely maybe perhaps roughly approximately ' +
    'according said says per'
  ).split(' '),
);

/** Words that deny what they stand next to; a word ending in n't counts too. */
const NEGATIONS = new Set(['not', 'no', 'never', 'cannot', 'none', 'nothing', 'neither', 'nor', 'without', 'nobody', 'nowhere']);

/** Words that say a claim is second-hand or uncertain (they lower credibility). */
const HEDGES = new Set([
  'maybe', 'perhaps', 'reportedly', 'allegedly', 'rumour', 'rumor', 'rumoured', 'rumored', 'unconfirmed', 'apparently',
  'might', 'possibly', 'supposedly', 'unverified', 'speculation',
]);

/** Words that name what a number counts, so "2000 pounds" is a quantity and "in 2000" may be a year. */
const UNITS = new Set([
  'percent', 'pound', 'dollar', 'euro', 'gbp', 'usd', 'eur', 'month', 'year', 'week', 'day', 'hour', 'minute', 'kg', 'km',
  'mile', 'metre', 'meter', 'sqm', 'square', 'people', 'staff', 'employee', 'customer', 'unit', 'item', 'ton', 'tonne', 'litre',
  'liter', 'seat', 'store', 'shop', 'oven', 'room', 'bed',
]);

/** Multipliers of a number's suffix: 150k, 2.5m, 3bn. */
const SUFFIXES: Record<string, number> = { '': 1, k: 1e3, m: 1e6, bn: 1e9, b: 1e9 };

/** How far (in words) the word a number counts may follow it ("2000 or 3000 pounds"), or precede it. */
const UNIT_WORDS_AFTER = 3;
const UNIT_WORDS_BEFORE = 2;

/**
 * A word, possibly joined by an apostrophe, comma or point to more word characters ("isn't",
 * "2,000", "3.5"). Each group starts with a separator the first class excludes: no backtracking.
 */
const TOKEN = /[\p{L}\p{N}]+(?:['’.,][\p{L}\p{N}]+)*/gu;
/** A currency sign right before a number, or a percent sign right after one. */
const SIGNED_QUANTITY = /[£$€¥]\s?\d|\d\s?%/;
/** A sentence ends at . ! ? ; before a space or the end (so 3.5 stays whole), or at a line break. One character a match: linear. */
const SENTENCE_END = /[.!?;](?=\s|$)|\n/;

export interface StatedNumber {
  value: number;
  /**
   * What it counts: the first content word within 3 words after it ("2000 pounds", "3 ovens",
   * "2000 or 3000 pounds"), else the last within 2 words before it ("rent is 2000"); none: undefined.
   */
  unit: string | undefined;
}

export interface Claim {
  /** Content words, lower case, a plural folded to its singular (rents → rent). */
  words: Set<string>;
  /** Content words of the sentences that hold a negation word (not, never, no, cannot, isn't...). */
  negatedWords: Set<string>;
  numbers: StatedNumber[];
  /** Whether a number comes with a unit word, a suffix (150k) or a currency or percent sign. */
  quantity: boolean;
  /** Whether a hedge occurs (reportedly, allegedly, maybe...). */
  hedged: boolean;
}

/** rents → rent, companies → company; "ss", "us" and "is" endings stay (glass, status, analysis). */
export function foldPlural(word: string): string {
  if (word.length > 4 && word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.length > 3 && word.endsWith('s') && !/(ss|us|is)$/.test(word)) return word.slice(0, -1);
  return word;
}

export function tokens(text: string): string[] {
  return (text.toLowerCase().replace(/’/g, "'").match(TOKEN) ?? []).map((t) => t.replace(/'s$/, ''));
}

const isNegation = (token: string) => NEGATIONS.has(token) || token.endsWith("n't");

/** 2000, 2,000, 3.5, 150k, 2.5m; undefined for a word. */
export function parseNumber(token: string): { value: number; suffixed: boolean } | undefined {
  if (!/^\d/.test(token)) return undefined;
  const digits = /^[\d.,]+/.exec(token)![0];
  const suffix = token.slice(digits.length);
  const multiplier = SUFFIXES[suffix];
  if (multiplier === undefined) return undefined;
  const value = Number.parseFloat(digits.replace(/,/g, '').replace(/\.$/, ''));
  return Number.isFinite(value) ? { value: value * multiplier, suffixed: suffix !== '' } : undefined;
}

function contentWord(token: string): string | undefined {
  if (STOP_WORDS.has(token) || isNegation(token) || /^\d/.test(token)) return undefined;
  return foldPlural(token);
}

function unitOf(content: (string | undefined)[], at: number): string | undefined {
  const after = content.slice(at + 1, at + 1 + UNIT_WORDS_AFTER).find((w) => w !== undefined);
  return after ?? content.slice(Math.max(0, at - UNIT_WORDS_BEFORE), at).filter((w) => w !== undefined).at(-1);
}

export function analyseClaim(text: string): Claim {
  const all = tokens(text);
  const content = all.map(contentWord);
  const numbers: StatedNumber[] = [];
  let quantity = SIGNED_QUANTITY.test(text);
  all.forEach((token, i) => {
    const parsed = parseNumber(token);
    if (!parsed) return;
    const unit = unitOf(content, i);
    numbers.push({ value: parsed.value, unit });
    if (parsed.suffixed || (unit !== undefined && UNITS.has(unit))) quantity = true;
  });
  const negatedWords = new Set<string>();
  for (const sentence of text.split(SENTENCE_END)) {
    const words = tokens(sentence);
    if (!words.some(isNegation)) continue;
    for (const w of words.map(contentWord)) if (w !== undefined) negatedWords.add(w);
  }
  return {
    words: new Set(content.filter((w): w is string => w !== undefined)),
    negatedWords,
    numbers,
    quantity,
    hedged: all.some((t) => HEDGES.has(t)),
  };
}

export function sharedWords(a: Set<string>, b: Set<string>): string[] {
  return [...a].filter((w) => b.has(w)).sort();
}

export interface Overlap {
  shared: string[];
  /** Shared words over the smaller claim's words (the overlap coefficient), 0-1. */
  coefficient: number;
  /** Two claims are about the same thing: at least 2 shared words, and 40 % of the smaller one's. */
  related: boolean;
}

export const RELATED_MIN_SHARED = 2;
export const RELATED_MIN_COEFFICIENT = 0.4;

export function overlap(a: Claim, b: Claim): Overlap {
  const shared = sharedWords(a.words, b.words);
  const smaller = Math.min(a.words.size, b.words.size);
  const coefficient = smaller === 0 ? 0 : shared.length / smaller;
  return { shared, coefficient, related: shared.length >= RELATED_MIN_SHARED && coefficient >= RELATED_MIN_COEFFICIENT };
}

export interface Conflict {
  rule: 'number-mismatch' | 'negation';
  reason: string;
}

/**
 * Number mismatch: both claims state numbers counting the same word (their `unit`), with no
 * value in common ("2000 pounds a month" against "3500 pounds a month"; "2000 or 3000 pounds"
 * against "2000 pounds" agrees).
 */
export function numberMismatch(a: Claim, b: Claim): Conflict | undefined {
  const valuesOf = (claim: Claim, unit: string) => [...new Set(claim.numbers.filter((n) => n.unit === unit).map((n) => n.value))];
  const units = [...new Set(a.numbers.map((n) => n.unit).filter((u): u is string => u !== undefined))].sort();
  for (const unit of units) {
    const mine = valuesOf(a, unit);
    const theirs = valuesOf(b, unit);
    if (theirs.length === 0 || mine.some((v) => theirs.includes(v))) continue;
    return { rule: 'number-mismatch', reason: `the numbers for "${unit}" differ: ${mine.join(', ')} against ${theirs.join(', ')}` };
  }
  return undefined;
}

/** What a reason calls the two claims. */
export type ClaimNames = readonly [string, string];

/** A claim negates the shared one when a sentence of it holds a negation and 2 of the shared words. */
const negates = (claim: Claim, shared: string[]) => shared.filter((w) => claim.negatedWords.has(w)).length >= RELATED_MIN_SHARED;

/**
 * Negation: exactly one of two related claims negates the shared claim (a sentence with a
 * negation word and at least 2 of the shared words); both negating agree with each other,
 * and a negation elsewhere in a text ("... The landlord will not renew.") does not count.
 */
export function negationConflict(a: Claim, b: Claim, shared: string[], names: ClaimNames = ['the first', 'the second']): Conflict | undefined {
  const [na, nb] = [negates(a, shared), negates(b, shared)];
  if (na === nb) return undefined;
  const negated = shared.filter((w) => (na ? a : b).negatedWords.has(w));
  return { rule: 'negation', reason: `${na ? names[0] : names[1]} negates the shared claim (${negated.slice(0, 5).join(', ')})` };
}

/** Whether two related claims conflict: the number rule first (it says more), then negation. */
export function conflictOf(a: Claim, b: Claim, o: Overlap = overlap(a, b), names?: ClaimNames): Conflict | undefined {
  if (!o.related) return undefined;
  return numberMismatch(a, b) ?? negationConflict(a, b, o.shared, names);
}

export const round2 = (x: number): number => Math.round(Math.min(1, Math.max(0, x)) * 100) / 100;
