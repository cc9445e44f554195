/**
 * One linear pass over HTML, before any DOM is built (reliability S5). Every DOM builder we
 * have is superlinear on deep nesting (htmlparser2, so linkedom, takes ~4 s for 100k nested
 * `<div>`; parse5's scope checks walk the open-element stack; Readability took 38 s at depth
 * 2,000 and overflowed the stack at 5,000) or on many attributes (linkedom: 2 s for 256k in one
 * tag, tripling with each doubling), so this pass measures the page first: elements, attributes,
 * nesting depth (an estimate at least as deep as htmlparser2's), title and canonical link. A
 * page too big for the DOM path is read from this pass alone: its text, without scripts,
 * styles and navigation, with its paragraphs and lines. Every index only moves forward and
 * every step is a bounded amount of work, so the pass is O(n) whatever the input.
 */
import { collapseMarks, isSpace, LINE_MARK, PARAGRAPH_MARK, storable } from './text.js';

export interface HtmlScan {
  elements: number;
  attributes: number;
  depth: number;
  /** The sum of every element's depth: what tree walks over the page cost (Readability's do). */
  depthSum: number;
  title?: string;
  canonical?: string;
  /** The visible text, navigation and scripts left out. */
  text: string;
}

/** Elements that end a paragraph, those that end a line, and those set apart by a space (table cells). */
export const PARAGRAPH_ELEMENTS = new Set([
  'address', 'article', 'blockquote', 'details', 'dl', 'figure', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ol', 'p', 'pre', 'section',
  'table', 'ul',
]);
export const LINE_ELEMENTS = new Set([
  'aside', 'br', 'caption', 'dd', 'div', 'dt', 'figcaption', 'footer', 'header', 'hr', 'li', 'main', 'nav', 'summary', 'tr',
]);
export const SPACED_ELEMENTS = new Set(['td', 'th']);
/** Never the page's text, wherever they are (the DOM path skips them too). */
export const NEVER_TEXT = new Set([
  'script', 'style', 'noscript', 'template', 'svg', 'math', 'iframe', 'object', 'canvas', 'select', 'button', 'textarea',
]);
/** Page furniture: never the main content (`header` only as a child of `body`, as in FURNITURE_SELECTOR). */
const FURNITURE = new Set(['nav', 'aside', 'footer']);
export const FURNITURE_SELECTOR = [
  'nav', 'aside', 'footer', 'body > header', '[role="navigation"]', '[role="banner"]', '[role="contentinfo"]', '[role="complementary"]',
].join(', ');

const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'param', 'source', 'track', 'wbr']);
/** Their content is text up to their end tag, never markup. */
const RAW = new Set(['script', 'style', 'textarea', 'title', 'xmp', 'iframe', 'noembed', 'noframes', 'noscript', 'plaintext']);
/** A start tag that closes an open element of these names at the top of the stack, as htmlparser2 does. */
const CLOSES: Record<string, string[]> = {
  li: ['li'], p: ['p'], dt: ['dt', 'dd'], dd: ['dt', 'dd'], option: ['option'], tr: ['tr', 'td', 'th'], td: ['td', 'th'], th: ['td', 'th'],
};
/** An end tag closes its element only if it is this near the top: a stray one cannot cost a walk down the stack. */
const END_TAG_REACH = 64;

const NAME = /[a-zA-Z][^\s/>]*/y;
const GT = 0x3e;
const SLASH = 0x2f;
const EQUALS = 0x3d;
const QUOTE = 0x22;
const APOSTROPHE = 0x27;

/**
 * The index after the tag's `>` (quotes count only as attribute values, as the HTML tokenizer
 * has it), counting the attributes on the way.
 */
function tagEnd(html: string, from: number, scan?: HtmlScan): number {
  let j = from;
  /** After whitespace or the name: the next name character starts an attribute. */
  let gap = true;
  while (j < html.length) {
    const c = html.charCodeAt(j);
    if (c === GT) return j + 1;
    j += 1;
    if (isSpace(c) || c === SLASH) {
      gap = true;
    } else if (c === EQUALS) {
      while (j < html.length && isSpace(html.charCodeAt(j))) j += 1;
      const quote = html.charCodeAt(j);
      if (quote === QUOTE || quote === APOSTROPHE) {
        const close = html.indexOf(quote === QUOTE ? '"' : "'", j + 1);
        j = close < 0 ? html.length : close + 1;
      }
      gap = false;
    } else {
      if (gap && scan) scan.attributes += 1;
      gap = false;
    }
  }
  return html.length;
}

/** One attribute's value in a tag's source (lowercase name), read forward once. */
function attribute(source: string, wanted: string): string | undefined {
  let j = 0;
  while (j < source.length) {
    while (j < source.length && (isSpace(source.charCodeAt(j)) || source.charCodeAt(j) === SLASH)) j += 1;
    const start = j;
    while (j < source.length && !isSpace(source.charCodeAt(j)) && source.charCodeAt(j) !== EQUALS && source.charCodeAt(j) !== SLASH) j += 1;
    const name = source.slice(start, j).toLowerCase();
    if (j === start) j += 1;
    while (j < source.length && isSpace(source.charCodeAt(j))) j += 1;
    let value = '';
    if (source.charCodeAt(j) === EQUALS) {
      j += 1;
      while (j < source.length && isSpace(source.charCodeAt(j))) j += 1;
      const quote = source[j];
      if (quote === '"' || quote === "'") {
        const close = source.indexOf(quote, j + 1);
        const to = close < 0 ? source.length : close;
        value = source.slice(j + 1, to);
        j = to + 1;
      } else {
        const from = j;
        while (j < source.length && !isSpace(source.charCodeAt(j))) j += 1;
        value = source.slice(from, j);
      }
    }
    if (name === wanted) return value;
  }
  return undefined;
}

/** Where `</name` (any case) next ends a raw element's text, or -1. */
function endTagOf(html: string, name: string, from: number): number {
  for (let k = html.indexOf('</', from); k >= 0; k = html.indexOf('</', k + 2)) {
    const after = html.charCodeAt(k + 2 + name.length);
    const ends = Number.isNaN(after) || after === GT || after === SLASH || isSpace(after);
    if (ends && html.slice(k + 2, k + 2 + name.length).toLowerCase() === name) return k;
  }
  return -1;
}

export function scanHtml(html: string): HtmlScan {
  const stack: string[] = [];
  const out: string[] = [];
  const scan: HtmlScan = { elements: 0, attributes: 0, depth: 0, depthSum: 0, text: '' };
  /** Text is hidden while the stack is deeper than this (-1: shown). */
  let hiddenAt = -1;
  const emit = (s: string) => hiddenAt < 0 && out.push(s);
  const popTo = (k: number) => {
    stack.length = k;
    if (hiddenAt >= k) hiddenAt = -1;
  };
  let i = 0;
  while (i < html.length) {
    const lt = html.indexOf('<', i);
    emit(html.slice(i, lt < 0 ? html.length : lt));
    if (lt < 0) break;
    const next = html[lt + 1];
    if (html.startsWith('<!--', lt) || next === '!' || next === '?') {
      const close = html.startsWith('<!--', lt) ? html.indexOf('-->', lt + 4) + 3 : html.indexOf('>', lt) + 1;
      i = close <= 2 ? html.length : close;
      continue;
    }
    const closing = next === '/';
    NAME.lastIndex = lt + (closing ? 2 : 1);
    const name = NAME.exec(html)?.[0].toLowerCase();
    if (!name) {
      emit('<');
      i = lt + 1;
      continue;
    }
    const end = tagEnd(html, NAME.lastIndex, closing ? undefined : scan);
    const source = html.slice(NAME.lastIndex, end - 1);
    i = end;
    const mark = PARAGRAPH_ELEMENTS.has(name) ? PARAGRAPH_MARK : LINE_ELEMENTS.has(name) ? LINE_MARK : SPACED_ELEMENTS.has(name) ? ' ' : '';
    if (mark) emit(mark);
    if (closing) {
      for (let k = stack.length - 1; k >= Math.max(0, stack.length - END_TAG_REACH); k -= 1) {
        if (stack[k] === name) {
          popTo(k);
          break;
        }
      }
      continue;
    }
    scan.elements += 1;
    if (CLOSES[name]?.includes(stack[stack.length - 1] ?? '')) popTo(stack.length - 1);
    if (name === 'link' && scan.canonical === undefined && (attribute(source, 'rel') ?? '').toLowerCase().split(/\s+/).includes('canonical')) {
      scan.canonical = attribute(source, 'href') || undefined;
    }
    if (RAW.has(name)) {
      const close = endTagOf(html, name, i);
      if (name === 'title' && scan.title === undefined) scan.title = storable(decodeEntities(html.slice(i, close < 0 ? html.length : close)));
      i = close < 0 ? html.length : tagEnd(html, close + name.length + 2);
      continue;
    }
    if (VOID.has(name) || source.trimEnd().endsWith('/')) continue;
    const hidden = NEVER_TEXT.has(name) || FURNITURE.has(name) || (name === 'header' && stack[stack.length - 1] === 'body');
    stack.push(name);
    scan.depth = Math.max(scan.depth, stack.length);
    scan.depthSum += stack.length;
    if (hidden && hiddenAt < 0) hiddenAt = stack.length - 1;
  }
  scan.text = collapseMarks(decodeEntities(out.join('')));
  return scan;
}

const NAMED: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', mdash: '—', ndash: '–', hellip: '…',
  lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', copy: '©', reg: '®', trade: '™', laquo: '«', raquo: '»',
};

/** Numeric references and the common names; the DOM path decodes the rest. Linear: each match is at most 10 characters. */
export function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});/g, (whole, ref: string) => {
    if (ref[0] !== '#') return NAMED[ref] ?? whole;
    const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '\ufffd';
  });
}
