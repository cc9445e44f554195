/**
 * A document's text as sentences, for the passage rule (./passages.ts): paragraphs (blank
 * lines apart) joined across their line breaks (a PDF breaks lines inside sentences), then cut
 * at sentence ends; a bullet is a paragraph of its own; headings and navigation or table lines
 * are dropped. One pass over the characters, no regular expression over the text (the one
 * here reads a line's first 8 characters), and a generator, so the caller decides when to pause.
 */

/** A paragraph line with fewer words and no end mark, that starts a sentence, is a heading. */
const HEADING_MAX_WORDS = 5;

const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'vs', 'etc', 'e.g', 'i.e', 'inc', 'ltd', 'co', 'corp', 'no', 'nos', 'fig',
  'figs', 'approx', 'est', 'cf', 'al', 'p', 'pp', 'vol', 'ch', 'sec', 'ed', 'eds', 'dept', 'univ', 'jan', 'feb', 'mar', 'apr',
  'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec', 'u.s', 'u.k',
]);
/** Characters that, repeated in a line, make it navigation or a table row ("Home | About", "Shop › Ovens"). */
const SEPARATORS = new Set(['|', '»', '›', '•', '·', '→', '>']);
/** What may follow an end mark before the space: closing quotes and brackets. */
export const CLOSERS = new Set(['"', "'", '”', '’', ')', ']', '»']);
const BULLET = /^(?:[-*•·–]|\d{1,3}[.)])\s+/;
export const isDigit = (c: string) => c >= '0' && c <= '9';
/** ASCII answered by code; the rest (accented capitals, other scripts) by case mapping. */
export const isLetter = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c > '\u007f' && c.toLowerCase() !== c.toUpperCase());
export const isUpper = (c: string) => (c >= 'A' && c <= 'Z') || (c > '\u007f' && c !== c.toLowerCase() && c === c.toUpperCase());
export const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v' || c === '\u00a0';

/**
 * The sentences of running text: an end mark (. ! ? …), closing quotes or brackets, a space,
 * then a capital, a digit or an opening quote. A full stop after an abbreviation or an
 * initial ("Dr.", "e.g.", "J.") ends nothing.
 */
export function* splitSentences(text: string): Generator<string> {
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '.' && c !== '!' && c !== '?' && c !== '…') continue;
    let end = i + 1;
    while (end < text.length && CLOSERS.has(text[end]!)) end++;
    if (end < text.length && !isSpace(text[end]!)) continue;
    let next = end;
    while (next < text.length && isSpace(text[next]!)) next++;
    const following = text[next];
    if (following !== undefined && !isUpper(following) && !isDigit(following) && following !== '"' && following !== '“' && following !== '(') continue;
    if (c === '.' && endsWithAbbreviation(text, start, i)) continue;
    yield text.slice(start, end).trim();
    start = next;
    i = next - 1;
  }
  const rest = text.slice(start).trim();
  if (rest) yield rest;
}

/** The word before a full stop at `dot` (looked back at most 12 characters): an abbreviation or one letter. */
function endsWithAbbreviation(text: string, from: number, dot: number): boolean {
  let w = dot;
  while (w > from && dot - w < 12 && !isSpace(text[w - 1]!) && text[w - 1] !== '(') w--;
  const word = text.slice(w, dot).toLowerCase();
  return ABBREVIATIONS.has(word) || (word.length === 1 && isLetter(word));
}

/** The line's units: a bullet's text, or nothing (headings, navigation); running text goes to the paragraph. */
type LineKind = { kind: 'text' } | { kind: 'block'; text: string } | { kind: 'skip' };

function classifyLine(line: string, paragraph: string): LineKind {
  if (line.startsWith('#')) return { kind: 'skip' };
  const bullet = BULLET.exec(line.slice(0, 8));
  const body = bullet ? line.slice(bullet[0].length) : line;
  let separators = 0;
  for (const c of body) if (SEPARATORS.has(c)) separators++;
  if (separators >= 2) return { kind: 'skip' };
  if (bullet) return { kind: 'block', text: body };
  // A short line with no end mark that starts a sentence is a heading ("Findings", "Rent and rates").
  const last = line[line.length - 1]!;
  const startsSentence = paragraph === '' || '.!?…:'.includes(paragraph[paragraph.length - 1]!);
  if (startsSentence && !'.!?…:;,'.includes(last) && !CLOSERS.has(last) && wordCount(line) <= HEADING_MAX_WORDS) return { kind: 'skip' };
  return { kind: 'text' };
}

export function wordCount(s: string): number {
  let n = 0;
  let inWord = false;
  for (const c of s) {
    const space = isSpace(c);
    if (!space && !inWord) n++;
    inWord = !space;
  }
  return n;
}

/** The text's candidate sentences, in order: paragraphs (blank lines apart) joined across their line breaks. */
export function* documentSentences(text: string): Generator<string> {
  let paragraph = '';
  let at = 0;
  while (at <= text.length) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    const line = text.slice(at, end).trim();
    at = end + 1;
    const kind: LineKind = line ? classifyLine(line, paragraph) : { kind: 'skip' };
    if (kind.kind === 'text') {
      paragraph = paragraph ? `${paragraph} ${line}` : line;
      continue;
    }
    // A blank line, a heading or a bullet ends the paragraph.
    if (paragraph) yield* splitSentences(paragraph);
    paragraph = '';
    if (kind.kind === 'block') yield* splitSentences(kind.text);
  }
  if (paragraph) yield* splitSentences(paragraph);
}

