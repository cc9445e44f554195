/**
 * Keyset paging for the list routes (API.md): `limit` (1-500, default 100: no list answers
 * an unbounded page) and an opaque cursor `after` in, `nextAfter` out, null on the last
 * page (`/v1/events` keeps its own default and id cursor). A cursor is base64url of `{ list, key }`: the list it came from
 * (a cursor of another list is a 400, not a misread page) and the sort key of the page's
 * last row as PostgreSQL renders it: a message's `seq`; otherwise the creation time to the
 * microsecond and the id (a JS Date keeps milliseconds, and a rounded key repeats rows).
 */
import { asc, desc, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { HttpError, namedPattern } from './errors.js';

/** Rows a list answers when the request names no `limit`. */
export const DEFAULT_PAGE_LIMIT = 100;

export interface PageQuery {
  limit?: string;
  after?: string;
}

/** Query strings are not coerced, so `limit` arrives as a checked digit string (as on `/v1/events`). */
export const pageQueryProperties = {
  limit: { type: 'string', description: `1-500, default ${DEFAULT_PAGE_LIMIT}`, ...namedPattern('^([1-9][0-9]?|[1-4][0-9]{2}|500)$', 'must be an integer from 1 to 500') },
  after: {
    type: 'string',
    minLength: 1,
    maxLength: 256,
    description: 'the `nextAfter` of the previous page, as given',
    ...namedPattern('^[A-Za-z0-9_-]+$', 'must be a cursor: the nextAfter of the previous page'),
  },
} as const;

export const pageQuery = { type: 'object', properties: pageQueryProperties, additionalProperties: false } as const;

/** The answer of a list route: its items under `name`, and the cursor of the next page. */
export function pageSchema(name: string, item: object) {
  return {
    type: 'object',
    properties: {
      [name]: { type: 'array', items: item },
      nextAfter: { anyOf: [{ type: 'string' }, { type: 'null' }], description: 'pass as `after` for the next page; null on the last page' },
    },
    required: [name, 'nextAfter'],
  } as const;
}

/** How one list is sorted, and how its cursor key is read from a row and turned back into a condition. */
export interface Keyset {
  list: string;
  /** Selected beside each row (as `cursorKey`): the row's sort key as the cursor stores it. */
  key: SQL<string>;
  orderBy: SQL[];
  /** The rows after a key; undefined for a key this keyset never makes. */
  after(key: string): SQL | undefined;
}

const SEQ_KEY = /^(0|[1-9][0-9]{0,17})$/;
const TIME_ID_KEY = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})\d{3}Z\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** Ordered by an increasing sequence (messages). */
export function seqKeyset(list: string, seq: AnyColumn): Keyset {
  return {
    list,
    key: sql<string>`${seq}::text`,
    orderBy: [asc(seq)],
    after: (key) => (SEQ_KEY.test(key) ? sql`${seq} > ${key}::bigint` : undefined),
  };
}

/** A real calendar time PostgreSQL takes (month 13 or year 0 would be a 500 there, not a 400 here). */
function isRealTime(millisPrefix: string): boolean {
  const date = new Date(`${millisPrefix}Z`);
  return !Number.isNaN(date.getTime()) && date.getUTCFullYear() >= 1 && date.toISOString() === `${millisPrefix}Z`;
}

/** Ordered by a creation time, ties broken by id: oldest first, or newest first (evidence). */
export function timeIdKeyset(list: string, time: AnyColumn, id: AnyColumn, order: 'oldest-first' | 'newest-first' = 'oldest-first'): Keyset {
  const newestFirst = order === 'newest-first';
  return {
    list,
    key: sql<string>`to_char(${time} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '/' || ${id}::text`,
    orderBy: newestFirst ? [desc(time), desc(id)] : [asc(time), asc(id)],
    after(key) {
      const match = TIME_ID_KEY.exec(key);
      if (!match || !isRealTime(match[1]!)) return undefined;
      const [stamp, rowId] = key.split('/');
      return newestFirst
        ? sql`(${time}, ${id}) < (${stamp}::timestamptz, ${rowId}::uuid)`
        : sql`(${time}, ${id}) > (${stamp}::timestamptz, ${rowId}::uuid)`;
    },
  };
}

const encodeCursor = (list: string, key: string): string => Buffer.from(JSON.stringify({ list, key })).toString('base64url');

function decodeCursor(cursor: string): { list: string; key: string } | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    const { list, key } = (parsed ?? {}) as Record<string, unknown>;
    return typeof list === 'string' && typeof key === 'string' ? { list, key } : undefined;
  } catch {
    return undefined;
  }
}

export interface PageRequest {
  /** Rows to answer. */
  limit: number;
  /** The condition for rows after the cursor, to AND into the route's own. */
  after?: SQL;
}

export function readPage(keyset: Keyset, query: PageQuery): PageRequest {
  const limit = query.limit === undefined ? DEFAULT_PAGE_LIMIT : Number(query.limit);
  if (query.after === undefined) return { limit };
  const cursor = decodeCursor(query.after);
  const after = cursor?.list === keyset.list ? keyset.after(cursor.key) : undefined;
  if (!after) {
    throw new HttpError(400, `querystring/after is not a cursor of this list: pass the nextAfter of its previous page as given`, 'FST_ERR_VALIDATION', 'after');
  }
  return { limit, after };
}

/** One row more than the page, so the last page is known to be the last. */
export function limited<Q extends { limit(n: number): Q }>(query: Q, page: PageRequest): Q {
  return query.limit(page.limit + 1);
}

export function pageOf<R extends { cursorKey: string }>(keyset: Keyset, page: PageRequest, rows: R[]): { rows: R[]; nextAfter: string | null } {
  if (rows.length <= page.limit) return { rows, nextAfter: null };
  const kept = rows.slice(0, page.limit);
  return { rows: kept, nextAfter: encodeCursor(keyset.list, kept[kept.length - 1]!.cursorKey) };
}
