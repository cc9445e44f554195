/**
 * One linear pass over HTML, before any DOM is built (reliability S5). Every DOM builder we
 * have is superlinear on deep nesting (htmlparser2, so linkedom, takes ~4 s for 100k nested
 * `<div>`; parse5's scope checks walk the open-element stack; Readability took 38 s at depth
 * 2,000 and overflowed the stack at 5,000), so this pass measures the page first: elements,
 * nesting depth (an estimate at least as deep as htmlparser2's), title and canonical link. A page
 * too big or too deep for the DOM path is read from this pass alone: its text, without scripts,
 * styles and navigation. Every index only moves forward, so the pass is O(n) whatever the input.
 */

/** Inserted where a block starts or ends, and at `<br>`; `normaliseText` turns them into breaks. */
export const BLOCK_BREAK = '\uE000';
export const LINE_BREAK = '\uE001';

export interface HtmlScan {
  elements: number;
  depth: number;
  /** The sum of every element's depth: what tree walks over the page cost (Readability's do). */
  depthSum: number;
  title?: string;
  canonical?: string;
  /** The visible text, navigation and scripts left out. */
  text: string;
}

const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'param', 'source', 'track', 'wbr']);
/** Their content is text up to their end tag, never markup. */
const RAW = new Set(['script', 'style', 'textarea', 'title', 'xmp', 'iframe', 'noembed', 'noframes', 'noscript', 'plaintext']);
/** Their text is not the page's content. */
const HIDDEN = new Set(['template', 'svg', 'math', 'nav', 'header', 'footer', 'aside', 'form', 'select', 'button']);
export const BLOCKS = [
  'address', 'article', 'aside', 'blockquote', 'dd', 'details', 'div', 'dl', 'dt', 'figcaption', 'figure', 'footer', 'h1', 'h2',
  'h3', 'h4', 'h5', 'h6', 'header', 'hr', 'li', 'main', 'ol', 'p', 'pre', 'section', 'summary', 'table', 'td', 'th', 'tr', 'ul',
];
const BLOCK = new Set(BLOCKS);
/** A start tag that closes an open element of these names at the top of the stack, as htmlparser2 does. */
const CLOSES: Record<string, string[]> = {
  li: ['li'], p: ['p'], dt: ['dt', 'dd'], dd: ['dt', 'dd'], option: ['option'], tr: ['tr', 'td', 'th'], td: ['td', 'th'], th: ['td', 'th'],
};
/** An end tag closes its element only if it is this near the top: a stray one cannot cost a walk down the stack. */
const END_TAG_REACH = 64;

const NAME = /[a-zA-Z][^\s/>]*/y;
const ATTRIBUTE = /([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;

/** The index after the tag's `>`: quotes count only as attribute values, as the HTML tokenizer has it. */
function tagEnd(html: string, from: number): number {
  let j = from;
  while (j < html.length) {
    const c = html[j];
    if (c === '>') return j + 1;
    j += 1;
    if (c !== '=') continue;
    while (j < html.length && /\s/.test(html[j] ?? '')) j += 1;
    const quote = html[j];
    if (quote === '"' || quote === "'") {
      const close = html.indexOf(quote, j + 1);
      j = close < 0 ? html.length : close + 1;
    }
  }
  return html.length;
}

function attributes(source: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const m of source.matchAll(ATTRIBUTE)) attrs[(m[1] ?? '').toLowerCase()] ??= m[2] ?? m[3] ?? m[4] ?? '';
  return attrs;
}

export function scanHtml(html: string): HtmlScan {
  const lower = html.toLowerCase();
  const stack: string[] = [];
  const out: string[] = [];
  const scan: HtmlScan = { elements: 0, depth: 0, depthSum: 0, text: '' };
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
    const end = tagEnd(html, NAME.lastIndex);
    const source = html.slice(NAME.lastIndex, end - 1);
    i = end;
    if (BLOCK.has(name) || name === 'br') emit(name === 'br' ? LINE_BREAK : BLOCK_BREAK);
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
    if (name === 'link' && scan.canonical === undefined) {
      const attrs = attributes(source);
      if (attrs.href && (attrs.rel ?? '').toLowerCase().split(/\s+/).includes('canonical')) scan.canonical = attrs.href;
    }
    if (RAW.has(name)) {
      let close = lower.indexOf(`</${name}`, i);
      while (close >= 0 && !/[\s/>]/.test(lower[close + name.length + 2] ?? '>')) close = lower.indexOf(`</${name}`, close + 1);
      const content = html.slice(i, close < 0 ? html.length : close);
      if (name === 'title' && scan.title === undefined) scan.title = decodeEntities(content);
      i = close < 0 ? html.length : tagEnd(html, close + name.length + 2);
      continue;
    }
    if (VOID.has(name) || source.trimEnd().endsWith('/')) continue;
    stack.push(name);
    scan.depth = Math.max(scan.depth, stack.length);
    scan.depthSum += stack.length;
    if (HIDDEN.has(name) && hiddenAt < 0) hiddenAt = stack.length - 1;
  }
  scan.text = normaliseText(decodeEntities(out.join('')));
  return scan;
}

const NAMED: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', mdash: '—', ndash: '–', hellip: '…',
  lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', copy: '©', reg: '®', trade: '™', laquo: '«', raquo: '»',
};

/** Numeric references and the common names; the DOM path decodes the rest. */
export function decodeEntities(text: string): string {
  return text.replace(/&(#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});/g, (whole, ref: string) => {
    if (ref[0] !== '#') return NAMED[ref] ?? whole;
    const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '\ufffd';
  });
}

/** Collapses source whitespace; block marks become paragraph breaks, line marks newlines. */
export function normaliseText(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replace(/ *\uE001 */g, '\n')
    .replace(/[ \n]*\uE000[\uE000 \n]*/g, '\n\n')
    .trim();
}
