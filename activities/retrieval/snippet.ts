/**
 * What every retrieval source shares: the full-text query, and the snippet a passage shows
 * (`ts_headline` around the best match, clipped).
 */
import { sql, type AnyColumn, type SQL } from 'drizzle-orm';

/** `ts_headline` words around the best match, centred on it: about 300 characters of English. */
const HEADLINE_OPTIONS = 'StartSel="",StopSel="",MaxWords=50,MinWords=25,MaxFragments=1';
/** A hard cap on the snippet: a "word" can be a 2 KB URL. */
export const SNIPPET_MAX_CHARS = 400;

export const tsQuery = (query: string): SQL => sql`websearch_to_tsquery('english', ${query})`;

/**
 * A short text is its own snippet (a fragment would drop its edge words). With no lexeme to
 * match (a vector-only hit, a query of stop words) the headline is the text's start.
 */
export function headlineOf(text: AnyColumn, query: string): SQL<string> {
  return sql<string>`case when char_length(${text}) <= ${SNIPPET_MAX_CHARS} then ${text}
    else ts_headline('english', ${text}, ${tsQuery(query)}, ${HEADLINE_OPTIONS}) end`;
}

/** `…` where the snippet starts after the text's start or ends before its end. */
export function clipSnippet(text: string, headline: string): string {
  const cut = headline.length > SNIPPET_MAX_CHARS ? `${headline.slice(0, SNIPPET_MAX_CHARS).trimEnd()}…` : headline;
  const at = text.indexOf(headline);
  if (at < 0) return cut;
  const before = at > 0 ? '…' : '';
  const after = cut === headline && at + headline.length < text.trimEnd().length ? '…' : '';
  return `${before}${cut}${after}`;
}

/** Ids as one `uuid[]` literal (ids read from the database: nothing to escape). */
export const uuidArray = (ids: readonly string[]): string => `{${ids.join(',')}}`;
