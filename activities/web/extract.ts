/**
 * A page's title, main text and canonical URL (issue 13: "the main content, not navigation").
 * Readability finds the main content over a linkedom DOM; cheerio turns that content into
 * text with paragraph breaks. A page too large or too deep for that (html-scan.ts measures it
 * first, in linear time) is read from the scan instead: its text without scripts, styles and
 * navigation, in bounded time, rather than a DOM that would take seconds or overflow the stack.
 */
import { Readability } from '@mozilla/readability';
import * as cheerio from 'cheerio';
import { parseHTML } from 'linkedom';
import { BLOCK_BREAK, BLOCKS, LINE_BREAK, normaliseText, scanHtml } from './html-scan.js';

const BLOCK_SET = new Set(BLOCKS);

export interface ExtractedPage {
  /** The page's `<title>`, else `og:title`, else its first `<h1>`, else the URL. */
  title: string;
  /** The main content as plain text; paragraphs separated by a blank line. */
  text: string;
  /** The `<link rel="canonical">` resolved against the page's (final) URL, else that URL; no fragment. */
  canonicalUrl: string;
}

/**
 * The DOM path's bounds, measured on this project's 2-core machine, first call in a process.
 * Readability's cost depends on the structure more than the size: 20k flat paragraphs take
 * 0.2 s, but `<div>`s ~0.1 ms each whatever their depth (10k: ~1 s; 19k: 2-2.7 s). Past these
 * bounds the scan's text is used instead (no main-content selection, navigation still dropped).
 */
export const MAX_DOM_ELEMENTS = 10_000;
export const MAX_DOM_DEPTH = 100;
export const MAX_DOM_DEPTH_SUM = 500_000;
const MAX_TITLE_CHARS = 300;

export function extractPage(html: string, url: string): ExtractedPage {
  const scan = scanHtml(html);
  if (scan.elements > MAX_DOM_ELEMENTS || scan.depth > MAX_DOM_DEPTH || scan.depthSum > MAX_DOM_DEPTH_SUM) {
    return finish(scan.title, scan.canonical, scan.text, url);
  }
  const { document } = parseHTML(html);
  const title = document.title
    || document.querySelector('meta[property="og:title"]')?.getAttribute('content')
    || document.querySelector('h1')?.textContent;
  const canonical = document.querySelector('link[rel~="canonical"][href]')?.getAttribute('href') ?? undefined;
  // Readability changes the document it reads: title and canonical link are taken first.
  const article = new Readability(document as unknown as Document).parse();
  const text = article?.content ? htmlToText(article.content) : '';
  return finish(title ?? undefined, canonical, text || scan.text, url);
}

/** The few fields of a cheerio (domhandler) node the walk reads. */
interface DomNode {
  type: string;
  name?: string;
  data?: string;
  children?: DomNode[];
}

/**
 * Block elements become paragraph breaks and `<br>` a newline; the rest is its text. An explicit
 * stack, not recursion or cheerio's `.before()` (which splices sibling arrays: quadratic, 23 s
 * for 50k paragraphs).
 */
function htmlToText(fragment: string): string {
  const $ = cheerio.load(fragment, { xml: { xmlMode: false, decodeEntities: true } }, false);
  const out: string[] = [];
  const stack: Array<DomNode | string> = [$.root()[0] as unknown as DomNode];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (typeof item === 'string') out.push(item);
    else if (item.type === 'text') out.push(item.data ?? '');
    else if (item.type === 'tag' && item.name === 'br') out.push(LINE_BREAK);
    else if (item.type === 'tag' || item.type === 'root') {
      if (BLOCK_SET.has(item.name ?? '')) {
        out.push(BLOCK_BREAK);
        stack.push(BLOCK_BREAK);
      }
      const children = item.children ?? [];
      for (let k = children.length - 1; k >= 0; k -= 1) stack.push(children[k] as DomNode);
    }
  }
  return normaliseText(out.join(''));
}

function finish(title: string | undefined, canonical: string | undefined, text: string, url: string): ExtractedPage {
  const cleanTitle = (title ?? '').replace(/\s+/g, ' ').trim().slice(0, MAX_TITLE_CHARS);
  return { title: cleanTitle || withoutFragment(url), text, canonicalUrl: resolveCanonical(canonical, url) };
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
