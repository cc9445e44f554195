/**
 * Linear passes over user text: what PostgreSQL may store, line ends, and the whitespace of
 * text taken out of markup. Each is one forward loop that copies slices, never a regex that
 * backtracks: the regexes these replace (`[ \t]+\n`, ` *\uE001 *`, `[ \n]*\uE000[\uE000 \n]*`)
 * retried a run of spaces from each of its positions (80 KB of spaces took 4-7 s, 160 KB
 * four times that).
 */

/** Where a paragraph starts or ends, and a line break, in text taken out of markup (`collapseMarks`). */
export const PARAGRAPH_MARK = '\uE000';
export const LINE_MARK = '\uE001';
const PARAGRAPH_CODE = 0xe000;
const LINE_CODE = 0xe001;

/** What `\s` matches: ASCII whitespace, NBSP and the Unicode spaces. */
export function isSpace(c: number): boolean {
  if (c === 32 || (c >= 9 && c <= 13)) return true;
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029
    || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/**
 * The text without what a PostgreSQL `text` column refuses or cannot hold as written: NUL
 * (SQLSTATE 22021) and lone UTF-16 surrogates (no UTF-8 encoding: drivers turn them into
 * U+FFFD or fail). Returns the same string when there is nothing to remove.
 */
export function storable(text: string): string {
  let parts: string[] | undefined;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0 && (c < 0xd800 || c > 0xdfff)) continue;
    if (c <= 0xdbff && c >= 0xd800) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    }
    (parts ??= []).push(text.slice(from, i));
    from = i + 1;
  }
  if (!parts) return text;
  parts.push(text.slice(from));
  return parts.join('');
}

/**
 * Plain text as stored: line ends become `\n`, spaces and tabs before one go, and so does
 * whitespace at both ends (and whatever `storable` removes).
 */
export function normaliseLines(text: string): string {
  const parts: string[] = [];
  let from = 0;
  /** Where the current run of spaces and tabs started, or -1. */
  let run = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9) {
      if (run < 0) run = i;
      continue;
    }
    if (c === 10 || c === 13) {
      parts.push(text.slice(from, run < 0 ? i : run), '\n');
      if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
      from = i + 1;
    }
    run = -1;
  }
  parts.push(text.slice(from));
  return storable(parts.join('')).trim();
}

/**
 * Text taken out of markup, as read: every run of whitespace is one space, a paragraph mark
 * a blank line and a line mark a newline (two in a row a blank line, never more), nothing at
 * either end.
 */
export function collapseMarks(text: string): string {
  const parts: string[] = [];
  /** Newlines owed before the next word (0-2), and whether a space is. */
  let breaks = 0;
  let space = false;
  /** Where the current word started, or -1. */
  let word = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const mark = c === PARAGRAPH_CODE || c === LINE_CODE;
    if (mark || isSpace(c)) {
      if (word >= 0) parts.push(text.slice(word, i));
      word = -1;
      if (c === PARAGRAPH_CODE) breaks = 2;
      else if (c === LINE_CODE) breaks = Math.min(2, breaks + 1);
      else space = true;
      continue;
    }
    if (word >= 0) continue;
    if (parts.length > 0) parts.push(breaks > 0 ? '\n'.repeat(breaks) : space ? ' ' : '');
    breaks = 0;
    space = false;
    word = i;
  }
  if (word >= 0) parts.push(text.slice(word));
  return storable(parts.join(''));
}

/** Text with no letter or digit in it (whitespace, punctuation, an image-only PDF) reads as nothing. */
export const hasReadableText = (text: string): boolean => /[\p{L}\p{N}]/u.test(text);
