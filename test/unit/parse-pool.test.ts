/**
 * The parse pool (activities/parse/pool.ts) under vitest's forks: large inputs run in a worker
 * thread (which loads the TypeScript readers through tsx), the event loop stays free while a
 * thread is held, a task past its deadline ends in a readable non-retryable failure and its
 * thread is replaced, and an abort ends a task at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createParsePool, INLINE_MAX_CHARS, type ParsePool, type ParseSettings } from '../../activities/parse/pool.js';
import { failureOf } from '../helpers/failures.js';

const pools: ParsePool[] = [];
const pool = (settings: Partial<ParseSettings> = {}) => {
  const p = createParsePool({ threads: 1, deadlineMs: 30_000, ...settings });
  pools.push(p);
  return p;
};

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

/** An HTML page larger than what runs inline. */
const largePage = `<html><head><title>Large</title></head><body><nav>menu</nav>${'<p>a paragraph about ovens</p>'.repeat(Math.ceil(INLINE_MAX_CHARS / 20))}</body></html>`;

describe('the parse pool', () => {
  it('reads a large page in a thread, and refuses what cannot be read with the same failure as inline', async () => {
    const p = pool();
    const page = await p.run({ kind: 'page', html: largePage, url: 'http://example.test/large#top' });
    expect(page.title).toBe('Large');
    expect(page.canonicalUrl).toBe('http://example.test/large');
    expect(page.text.startsWith('a paragraph about ovens\n\na paragraph')).toBe(true);
    const blank = ' '.repeat(INLINE_MAX_CHARS + 1);
    for (const text of [blank, ' ']) {
      const failure = await failureOf(p.run({ kind: 'document', contentType: 'text/plain', text }));
      expect([failure.type, failure.message, failure.nonRetryable]).toEqual(['DocumentUnreadable', 'no extractable text', true]);
    }
  });

  it('keeps the event loop free while a parse holds its thread', async () => {
    const p = pool({ delayMs: 1_500 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 50);
    try {
      const started = performance.now();
      await p.run({ kind: 'chunks', text: 'word '.repeat(INLINE_MAX_CHARS), sizes: { chunkTokens: 512, overlapTokens: 64 } });
      expect(performance.now() - started).toBeGreaterThanOrEqual(1_500);
    } finally {
      clearInterval(timer);
    }
    // A held event loop would have ticked once, after the parse.
    expect(ticks).toBeGreaterThan(10);
  });

  it('ends a task past its deadline with a readable reason, and the next task gets a new thread', async () => {
    const p = pool({ deadlineMs: 500, delayMs: 60_000 });
    for (let i = 0; i < 2; i++) {
      const started = performance.now();
      const failure = await failureOf(p.run({ kind: 'page', html: largePage, url: 'http://example.test/' }));
      expect([failure.type, failure.message, failure.nonRetryable]).toEqual(['DocumentUnreadable', 'the page took longer than 0.5 s to read', true]);
      expect(performance.now() - started).toBeLessThan(10_000);
    }
  });

  it('ends a running task, and a queued one, when their signal aborts', async () => {
    const p = pool({ delayMs: 60_000 });
    const running = new AbortController();
    const queued = new AbortController();
    const first = p.run({ kind: 'page', html: largePage, url: 'http://example.test/' }, { signal: running.signal }).catch((e: unknown) => e);
    const second = p.run({ kind: 'page', html: largePage, url: 'http://example.test/' }, { signal: queued.signal }).catch((e: unknown) => e);
    const reason = new Error('the activity was cancelled');
    setTimeout(() => {
      queued.abort(reason);
      running.abort(reason);
    }, 200);
    const started = performance.now();
    expect(await first).toBe(reason);
    expect(await second).toBe(reason);
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});
