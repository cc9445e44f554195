/**
 * Every list route pages the same way (API.md): `limit` 1-500 (default 100) and the opaque
 * cursor `after` in, `nextAfter` out (null on the last page).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentSuggestions, cases, inquiries, messages, signals, threads } from '../../activities/db/schema/index.js';
import { DEFAULT_PAGE_LIMIT } from '../../api/pagination.js';
import { createUserWithKey } from '../../api/auth.js';
import { uniqueId } from '../helpers/temporal.js';
import { call, createThread, insertCase, startApi, type ApiHarness, type TestUser } from './harness.js';

let h: ApiHarness;
/** A user of this file alone, so its lists hold exactly what the tests made. */
let carol: TestUser;
let threadId: string;

beforeAll(async () => {
  h = await startApi();
  const name = uniqueId('carol');
  const { userId, key } = await createUserWithKey(h.database.db, { name, admin: false });
  carol = { id: userId, name, key };
  threadId = (await createThread(h.app, carol, { title: 'paged' })).id;
  const { db } = h.database;
  await db.insert(messages).values(['m1', 'm2', 'm3', 'm4', 'm5'].map((content) => ({ threadId, role: 'user' as const, content, status: 'complete' as const })));
  // One timestamp for all: the id breaks the tie, and no row is repeated or skipped.
  const at = new Date('2026-12-01T10:00:00.123Z');
  await db.insert(signals).values(['s1', 's2', 's3'].map((text) => ({ threadId, type: 'goal', text, textHash: text, confidence: 0.5, firstSeenAt: at })));
  await db.insert(agentSuggestions).values([1, 2, 3].map((turn) => ({ threadId, kind: 'agent' as const, agentType: 'research', confidence: 0.9, reason: 'r', turn })));
});

afterAll(async () => {
  await h?.close();
});

const get = (url: string, user = carol) => call(h.app, user, { method: 'GET', url });

/** Follows `nextAfter` from the first page to the last; the items of every page, in order. */
async function walk(url: string, key: string, limit: number): Promise<{ pages: unknown[][]; items: unknown[] }> {
  const pages: unknown[][] = [];
  let after: string | null = null;
  do {
    const separator = url.includes('?') ? '&' : '?';
    const res = await get(`${url}${separator}limit=${limit}${after ? `&after=${after}` : ''}`);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.nextAfter === null || typeof body.nextAfter === 'string').toBe(true);
    pages.push(body[key]);
    after = body.nextAfter;
    expect(pages.length).toBeLessThan(20);
  } while (after);
  return { pages, items: pages.flat() };
}

const lists: [string, string, () => string][] = [
  ['messages', 'messages', () => `/v1/threads/${threadId}/messages`],
  ['signals', 'signals', () => `/v1/threads/${threadId}/signals`],
  ['suggestions', 'suggestions', () => `/v1/threads/${threadId}/suggestions`],
];

describe('thread lists', () => {
  it.each(lists)('%s: pages of 2 add up to the whole list, and the last page says so', async (_label, key, url) => {
    const whole = (await get(url())).json();
    expect(whole.nextAfter).toBeNull();
    expect(whole[key].length).toBeGreaterThanOrEqual(3);
    const { pages, items } = await walk(url(), key, 2);
    expect(items).toEqual(whole[key]);
    expect(pages.every((p) => p.length <= 2 && p.length > 0)).toBe(true);
    const exact = await get(`${url()}?limit=${whole[key].length}`);
    expect(exact.json().nextAfter).toBeNull();
  });

  it('messages stay oldest first across pages', async () => {
    const { items } = await walk(`/v1/threads/${threadId}/messages`, 'messages', 2);
    expect(items.map((m) => (m as { content: string }).content)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
  });
});

describe('GET /v1/threads', () => {
  it('lists the caller\'s threads, a case\'s activity thread too, marked by kind', async () => {
    const caseId = await insertCase(h.database, carol.id);
    const [activity] = await h.database.db.insert(threads).values({ userId: carol.id, caseId, kind: 'case-activity', title: 'Activity' }).returning();
    const whole = (await get('/v1/threads')).json();
    expect(whole.threads.map((t: { id: string; kind: string }) => [t.id, t.kind])).toEqual([[threadId, 'chat'], [activity!.id, 'case-activity']]);
    expect(whole.nextAfter).toBeNull();
    const { items } = await walk('/v1/threads', 'threads', 1);
    expect(items).toEqual(whole.threads);
    const others = (await get('/v1/threads', h.alice)).json().threads;
    expect(others.some((t: { id: string }) => t.id === threadId || t.id === activity!.id)).toBe(false);
  });
});

describe('bad paging input', () => {
  it('answers 400 naming limit or after', async () => {
    const messagesPage = (await get(`/v1/threads/${threadId}/messages?limit=1`)).json();
    const signalsUrl = `/v1/threads/${threadId}/signals`;
    const bad: [string, string][] = [
      [`${signalsUrl}?limit=0`, 'limit'],
      [`${signalsUrl}?limit=501`, 'limit'],
      [`${signalsUrl}?limit=1.5`, 'limit'],
      [`${signalsUrl}?after=`, 'after'],
      [`${signalsUrl}?after=not*base64`, 'after'],
      [`${signalsUrl}?after=bm90LWpzb24`, 'after'],
      [`${signalsUrl}?after=${Buffer.from(JSON.stringify({ list: 'signals', key: '2026-13-01T00:00:00.000000Z/x' })).toString('base64url')}`, 'after'],
      // A cursor of another list is refused, not misread.
      [`${signalsUrl}?after=${messagesPage.nextAfter}`, 'after'],
      ['/v1/threads?after=eyJ9', 'after'],
      ['/v1/cases?limit=-1', 'limit'],
    ];
    for (const [url, field] of bad) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json(), url).toMatchObject({ statusCode: 400, field });
      expect(res.json().message, url).toContain(field);
    }
    expect((await get(`${signalsUrl}?limit=500`)).statusCode).toBe(200);
  });
});

describe('without limit', () => {
  it('every list answers at most 100 rows and the cursor of the rest', async () => {
    const name = uniqueId('dave');
    const { userId, key } = await createUserWithKey(h.database.db, { name, admin: false });
    const dave: TestUser = { id: userId, name, key };
    const { db } = h.database;
    const many = DEFAULT_PAGE_LIMIT + 20;
    const [busy] = await db.insert(threads).values({ userId, title: 'long' }).returning({ id: threads.id });
    const threadId = busy!.id;
    await db.insert(threads).values(Array.from({ length: many - 1 }, () => ({ userId })));
    const caseRows = await db.insert(cases).values(Array.from({ length: many }, (_, i) => ({ userId, title: `case ${i}` }))).returning({ id: cases.id });
    const caseId = caseRows[0]!.id;
    await db.insert(inquiries).values(Array.from({ length: many }, (_, i) => ({ caseId, userId, question: `q${i}?` })));
    await db.insert(messages).values(Array.from({ length: many }, (_, i) => ({ threadId, role: 'user' as const, content: `m${i}`, status: 'complete' as const })));
    await db.insert(signals).values(Array.from({ length: many }, (_, i) => ({ threadId, type: 'goal', text: `s${i}`, textHash: `s${i}`, confidence: 0.5 })));
    await db.insert(agentSuggestions).values(Array.from({ length: many }, (_, i) => ({ threadId, kind: 'agent' as const, agentType: 'research', confidence: 0.9, reason: 'r', turn: i + 1 })));
    const all: [string, string][] = [
      ['/v1/threads', 'threads'],
      ['/v1/cases', 'cases'],
      [`/v1/threads/${threadId}/messages`, 'messages'],
      [`/v1/threads/${threadId}/signals`, 'signals'],
      [`/v1/threads/${threadId}/suggestions`, 'suggestions'],
      [`/v1/cases/${caseId}/inquiries`, 'inquiries'],
    ];
    for (const [url, listKey] of all) {
      const first = await get(url, dave);
      expect(first.statusCode, url).toBe(200);
      const page = first.json();
      expect(page[listKey], url).toHaveLength(DEFAULT_PAGE_LIMIT);
      expect(typeof page.nextAfter, url).toBe('string');
      const rest = (await get(`${url}?after=${page.nextAfter}`, dave)).json();
      expect(rest[listKey], url).toHaveLength(many - DEFAULT_PAGE_LIMIT);
      expect(rest.nextAfter, url).toBeNull();
    }
  });
});
