/**
 * The main content of an HTML page: readability over linkedom, after the page's furniture
 * (navigation, asides, footers) is dropped, with paragraphs and lines kept. Markup too deep
 * or too large for readability, or for a DOM at all, is read by linear fallbacks, so a
 * hostile page cannot hold a worker.
 */
import { Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';

/** PostgreSQL text holds no NUL; line ends become `\n`. */
export function normalise(text: string): string {
  return text.replace(/\u0000/g, '').replace(/\r\n?/g, '\n').replace(/[ \t]+\n/g, '\n').trim();
}

/** Elements that end a paragraph, and those that end a line. */
const PARAGRAPH = new Set(['P', 'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'BLOCKQUOTE', 'PRE', 'TABLE', 'UL', 'OL', 'DL', 'FIGURE', 'SECTION', 'ARTICLE']);
const LINE = new Set(['BR', 'LI', 'TR', 'DIV', 'DT', 'DD', 'HR', 'FIGCAPTION', 'HEADER', 'FOOTER', 'MAIN', 'ASIDE', 'NAV']);
/** Never content. */
const NEVER = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'SVG', 'IFRAME', 'OBJECT', 'CANVAS']);

interface DomNode {
  nodeType: number;
  nodeName: string;
  textContent: string | null;
  childNodes: ArrayLike<DomNode>;
}

/** The text of a tree with its paragraphs and lines kept; iterative, so deep nesting cannot overflow the stack. */
export function blockText(root: DomNode): string {
  const out: string[] = [];
  const stack: (DomNode | string)[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (typeof node === 'string') {
      out.push(node);
    } else if (node.nodeType === 3) {
      out.push((node.textContent ?? '').replace(/\s+/g, ' '));
    } else if (node.nodeType === 1 || node.nodeType === 9 || node.nodeType === 11) {
      const name = node.nodeName.toUpperCase();
      if (NEVER.has(name)) continue;
      const end = PARAGRAPH.has(name) ? '\n\n' : LINE.has(name) ? '\n' : '';
      if (end) out.push(end);
      stack.push(end);
      for (let i = node.childNodes.length - 1; i >= 0; i--) stack.push(node.childNodes[i]!);
    }
  }
  return normalise(out.join('').replace(/\n[ \t]+/g, '\n').replace(/\n{3,}/g, '\n\n'));
}

/**
 * Readability's cost grows steeply with nesting (measured: 150 ms at depth 200, 13 s at
 * 1,000) and with size (2 s at 60,000 elements): past these a page is read by the linear
 * fallback, so hostile markup cannot hold a worker.
 */
const READABILITY_MAX_DEPTH = 200;
const READABILITY_MAX_ELEMENTS = 50_000;

interface DomElement extends DomNode {
  remove(): void;
  querySelectorAll(selector: string): Iterable<DomElement>;
}

/** Page furniture: never the main content. */
const FURNITURE = [
  'nav', 'aside', 'footer', 'body > header', '[role="navigation"]', '[role="banner"]', '[role="contentinfo"]', '[role="complementary"]',
].join(', ');

function withinReadabilityLimits(root: DomNode): boolean {
  const stack: [DomNode, number][] = [[root, 0]];
  let elements = 0;
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node.nodeType !== 1 && node.nodeType !== 9) continue;
    if (++elements > READABILITY_MAX_ELEMENTS || depth > READABILITY_MAX_DEPTH) return false;
    for (let i = 0; i < node.childNodes.length; i++) stack.push([node.childNodes[i]!, depth + 1]);
  }
  return true;
}

/** The page parsed, without its furniture (readability keeps a short page's navigation otherwise). */
function parsePage(html: string) {
  const { document } = parseHTML(html);
  for (const el of (document as unknown as DomElement).querySelectorAll(FURNITURE)) el.remove();
  return document;
}

/** Elements with no end tag: they open no level. */
const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr']);
/** Deeper than this, even building the DOM is slow (measured: 2-3 s at 50,000 levels). */
const DOM_MAX_DEPTH = 2_000;

/** How deep the tags nest, by a linear scan of the markup (an estimate: unclosed tags count as open). */
function nestingDepth(html: string): number {
  let depth = 0;
  let max = 0;
  for (const m of html.matchAll(/<(\/?)([a-zA-Z][\w-]*)[^>]*?(\/?)>/g)) {
    if (VOID.has(m[2]!.toLowerCase()) || m[3]) continue;
    depth = m[1] ? Math.max(0, depth - 1) : depth + 1;
    if (depth > max) max = depth;
    if (max > DOM_MAX_DEPTH) break;
  }
  return max;
}

/** Markup too deep for a DOM, read as a stream of tags: blocks become line breaks, entities are decoded. */
function flatText(html: string): string {
  const flat = html
    .replace(/<(script|style|noscript|template|svg|nav|aside|footer)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<\/?(p|div|h[1-6]|li|tr|br|blockquote|pre|table|ul|ol|section|article)\b[^>]*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ');
  // The tags are gone: linkedom only decodes the entities of a flat body.
  const { document } = parseHTML(`<html><body><pre>${flat.replace(/</g, '&lt;')}</pre></body></html>`);
  const text = document.body?.textContent ?? '';
  return normalise(text.replace(/[ \t]+/g, ' ').replace(/\n[ \t]+/g, '\n').replace(/\n{3,}/g, '\n\n'));
}

/** The main content of a page (its article, not the navigation around it), and its title. */
export function extractHtml(html: string): { title: string | null; text: string } {
  if (nestingDepth(html) > DOM_MAX_DEPTH) {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(html)?.[1]?.trim() || null;
    return { title, text: flatText(html) };
  }
  const document = parsePage(html);
  const pageTitle = document.title?.trim() || null;
  if (withinReadabilityLimits(document as unknown as DomNode)) {
    try {
      const article = new Readability(document as unknown as Document, { serializer: (el) => el }).parse();
      const text = article?.content ? blockText(article.content as unknown as DomNode) : '';
      if (text) return { title: article?.title?.trim() || pageTitle, text };
    } catch {
      // Too odd for readability: the fallback below still reads it.
    }
  }
  // Readability changes the tree it reads: the fallback parses the page again.
  const again = parsePage(html);
  const body = (again.body ?? again.documentElement) as unknown as DomNode | null;
  return { title: pageTitle, text: body ? blockText(body) : '' };
}
