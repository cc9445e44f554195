/**
 * The one HTML extractor, for uploaded documents, fetched pages and research pages alike: a
 * page's title, main text and canonical link (issue 13: "the main content, not navigation").
 * html-scan.ts measures the page first, in linear time. Within the DOM bounds, linkedom parses
 * it, its furniture (navigation, asides, footers, the page header) is removed, and Readability
 * picks the main content, read with its paragraphs and lines kept. A page past the bounds, or
 * one Readability finds no article in, is read from the scan: its text without scripts,
 * styles and furniture, in bounded time, rather than a DOM that would take seconds or
 * overflow the stack.
 */
import { Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';
import { FURNITURE_SELECTOR, LINE_ELEMENTS, NEVER_TEXT, PARAGRAPH_ELEMENTS, scanHtml, SPACED_ELEMENTS, type HtmlScan } from './html-scan.js';
import { collapseMarks, LINE_MARK, PARAGRAPH_MARK } from './text.js';

export interface ExtractedHtml {
  title?: string;
  /** The `<link rel="canonical">` href as written. */
  canonical?: string;
  /** The main content as plain text; paragraphs separated by a blank line. */
  text: string;
}

export interface ExtractedPage {
  /** The page's `<title>`, else `og:title`, else its first `<h1>`, else the URL. */
  title: string;
  text: string;
  /** The canonical link resolved against the page's (final) URL, else that URL; no fragment. */
  canonicalUrl: string;
}

/**
 * The DOM path's bounds, measured on this project's 2-core machine, first call in a process.
 * Readability's cost depends on the structure more than the size: 20k flat paragraphs take
 * 0.2 s, but `<div>`s ~0.1 ms each whatever their depth (10k: ~1 s; 19k: 2-2.7 s); linkedom
 * takes 0.25 s for 64k attributes and triples with each doubling. Past these bounds the scan's
 * text is used instead (no main-content selection, furniture still dropped).
 */
export const MAX_DOM_ELEMENTS = 10_000;
export const MAX_DOM_ATTRIBUTES = 50_000;
export const MAX_DOM_DEPTH = 100;
export const MAX_DOM_DEPTH_SUM = 500_000;
const MAX_TITLE_CHARS = 300;

const withinDomBounds = (scan: HtmlScan) =>
  scan.elements <= MAX_DOM_ELEMENTS && scan.attributes <= MAX_DOM_ATTRIBUTES && scan.depth <= MAX_DOM_DEPTH && scan.depthSum <= MAX_DOM_DEPTH_SUM;

export function extractHtml(html: string): ExtractedHtml {
  const scan = scanHtml(html);
  if (!withinDomBounds(scan)) return { title: cleanTitle(scan.title), canonical: scan.canonical, text: scan.text };
  const { document } = parseHTML(html);
  const title = document.title
    || document.querySelector('meta[property="og:title"]')?.getAttribute('content')
    || document.querySelector('h1')?.textContent
    || scan.title;
  const canonical = document.querySelector('link[rel~="canonical"][href]')?.getAttribute('href') ?? scan.canonical;
  // Readability keeps a short page's navigation otherwise, and it changes the tree it reads:
  // title and canonical link are taken first.
  for (const el of document.querySelectorAll(FURNITURE_SELECTOR)) el.remove();
  let text = '';
  try {
    const article = new Readability(document as unknown as Document, { serializer: (el) => el }).parse();
    if (article?.content) text = blockText(article.content as unknown as DomNode);
  } catch {
    // Too odd for Readability: the scan still read it.
  }
  return { title: cleanTitle(title ?? undefined), canonical, text: text || scan.text };
}

/** A fetched page: its title (else its URL) and its canonical URL, resolved. */
export function extractPage(html: string, url: string): ExtractedPage {
  const { title, canonical, text } = extractHtml(html);
  return { title: title || withoutFragment(url), text, canonicalUrl: resolveCanonical(canonical, url) };
}

function cleanTitle(title: string | undefined): string | undefined {
  // Cut before collapsing: an unclosed <title> holds the rest of the page.
  return collapseMarks((title ?? '').slice(0, MAX_TITLE_CHARS * 4)).slice(0, MAX_TITLE_CHARS) || undefined;
}

/** The few fields of a linkedom node the walk reads. */
interface DomNode {
  nodeType: number;
  nodeName: string;
  textContent: string | null;
  childNodes: ArrayLike<DomNode>;
}

/**
 * The text of a tree with its paragraphs and lines kept: an explicit stack, so deep nesting
 * cannot overflow it (the scan's bounds keep it shallow anyway); marks become breaks in one
 * linear pass at the end.
 */
function blockText(root: DomNode): string {
  const out: string[] = [];
  const stack: (DomNode | string)[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (typeof node === 'string') {
      out.push(node);
    } else if (node.nodeType === 3) {
      out.push(node.textContent ?? '');
    } else if (node.nodeType === 1 || node.nodeType === 9 || node.nodeType === 11) {
      const name = node.nodeName.toLowerCase();
      if (NEVER_TEXT.has(name)) continue;
      const mark = PARAGRAPH_ELEMENTS.has(name) ? PARAGRAPH_MARK : LINE_ELEMENTS.has(name) ? LINE_MARK : SPACED_ELEMENTS.has(name) ? ' ' : '';
      out.push(mark);
      stack.push(mark);
      // Read once: linkedom builds `childNodes` afresh on every access (quadratic in a loop).
      const children = node.childNodes;
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
    }
  }
  return collapseMarks(out.join(''));
}

function resolveCanonical(href: string | undefined, base: string): string {
  if (href?.trim()) {
    try {
      const resolved = new URL(href.trim(), base);
      if (resolved.protocol === 'http:' || resolved.protocol === 'https:') return withoutFragment(resolved.href);
    } catch {
      // An unusable canonical link: the page's own URL stands.
    }
  }
  return withoutFragment(base);
}

function withoutFragment(url: string): string {
  try {
    const u = new URL(url);
    u.hash = '';
    return u.href;
  } catch {
    return url;
  }
}
