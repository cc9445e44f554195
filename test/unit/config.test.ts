import { describe, expect, it } from 'vitest';
import { activityConfigOf, ConfigError, loadConfig } from '../../workers/config.js';

describe('config', () => {
  it('has documented defaults and reads nothing it is not given', () => {
    const c = loadConfig({});
    expect(c.temporal.address).toBe('127.0.0.1:7233');
    expect(c.database.url).toBeUndefined();
    expect(c.database.embeddedPort).toBe(5488);
    expect(c.llm.provider).toBe('local');
    expect(c.llm.embeddingProvider).toBe('local');
    expect(c.queues).toEqual({ chat: 'chat', ingest: 'ingest', research: 'research', maintenance: 'maintenance' });
    expect(c.chat.syncResponses).toBe(false);
    expect(c.brief).toEqual({ debounceMs: 10_000, maxWaitMs: 60_000, idleCloseMs: 3_600_000, staleEvidenceDays: 180 });
    expect({ redelivery: c.redelivery, evidence: c.evidence }).toEqual({ redelivery: { afterMs: 60_000 }, evidence: { maxChars: 20_000 } });
    expect(loadConfig({ REDELIVERY_AFTER_MS: '1000', EVIDENCE_MAX_CHARS: '500' })).toMatchObject({ redelivery: { afterMs: 1000 }, evidence: { maxChars: 500 } });
  });

  it('reads the signal maintenance policy (issue 18) with its defaults, and refuses what makes no sense', () => {
    expect(loadConfig({}).signalMaintenance).toEqual({
      mergeSimilarity: 0.9, halfLifeDays: 30, archiveBelow: 0.3, hotDays: 3, warmDays: 14, warmReferences: 5,
      recentDays: 7, minActiveSignals: 10, concurrency: 4, scopesPerRun: 500, batchSize: 200,
    });
    expect(loadConfig({ SIGNAL_MERGE_SIMILARITY: '0.95', SIGNAL_HOT_DAYS: '1', SIGNAL_CONSOLIDATION_CONCURRENCY: '8' }).signalMaintenance).toMatchObject({
      mergeSimilarity: 0.95, hotDays: 1, concurrency: 8,
    });
    expect(() => loadConfig({ SIGNAL_MERGE_SIMILARITY: '1.5' })).toThrow(/SIGNAL_MERGE_SIMILARITY/);
    expect(() => loadConfig({ SIGNAL_ARCHIVE_BELOW: '-0.1' })).toThrow(/SIGNAL_ARCHIVE_BELOW/);
    expect(() => loadConfig({ SIGNAL_CONSOLIDATION_CONCURRENCY: '0' })).toThrow(/SIGNAL_CONSOLIDATION_CONCURRENCY/);
    expect(() => loadConfig({ SIGNAL_HOT_DAYS: '20' })).toThrow(/SIGNAL_WARM_DAYS/);
  });

  it('reads retrieval\'s bounds and the vector cache, and hands them to the activities', () => {
    expect(loadConfig({}).search).toEqual({ rateLimitPerMinute: 60, maxVectors: 200_000, maxVectorBytes: 128 * 1024 * 1024, vectorCacheBytes: 256 * 1024 * 1024, maxRanked: 2_000 });
    const c = loadConfig({ SEARCH_MAX_VECTORS: '5000', SEARCH_MAX_VECTOR_BYTES: '1048576', SEARCH_VECTOR_CACHE_BYTES: '2097152', SEARCH_FULLTEXT_MAX_RANKED: '0' });
    expect(c.search).toMatchObject({ maxVectors: 5000, maxVectorBytes: 1_048_576, vectorCacheBytes: 2_097_152, maxRanked: 0 });
    expect(activityConfigOf(c).search).toEqual(c.search);
    expect(() => loadConfig({ SEARCH_VECTOR_CACHE_BYTES: '0' })).toThrow(/SEARCH_VECTOR_CACHE_BYTES/);
    expect(() => loadConfig({ SEARCH_FULLTEXT_MAX_RANKED: '-1' })).toThrow(/SEARCH_FULLTEXT_MAX_RANKED/);
  });

  it('ties TEMPORAL_ADDRESS to TEMPORAL_PORT unless given (Decision 10)', () => {
    expect(loadConfig({ TEMPORAL_PORT: '7999' }).temporal.address).toBe('127.0.0.1:7999');
    expect(loadConfig({ TEMPORAL_PORT: '7999', TEMPORAL_ADDRESS: 'temporal:7233' }).temporal.address).toBe('temporal:7233');
  });

  it('prefixes queues and picks the openai provider when a key is set', () => {
    const c = loadConfig({ CASEWORK_QUEUE_PREFIX: 'x-', OPENAI_API_KEY: 'sk-1', CHAT_SYNC_RESPONSES: 'true', WORKER_QUEUES: 'chat,ingest' });
    expect(c.queues.chat).toBe('x-chat');
    expect(c.llm.provider).toBe('openai');
    expect(c.chat.syncResponses).toBe(true);
    expect(c.workerQueues).toEqual(['chat', 'ingest']);
    expect(c.temporal.tls).toBe(false);
    expect(loadConfig({ TEMPORAL_API_KEY: 'k' }).temporal.tls).toBe(true);
  });

  it('rejects bad values with a message naming the variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ WORKER_QUEUES: 'chat,email' })).toThrow(/WORKER_QUEUES/);
    expect(() => loadConfig({ LLM_PROVIDER: 'gpt' })).toThrow(/LLM_PROVIDER/);
    expect(() => loadConfig({ CHAT_SYNC_RESPONSES: 'maybe' })).toThrow(/CHAT_SYNC_RESPONSES/);
    expect(() => loadConfig({ BRIEF_STALE_EVIDENCE_DAYS: '0' })).toThrow(/BRIEF_STALE_EVIDENCE_DAYS/);
    expect(() => loadConfig({ EVIDENCE_MAX_CHARS: '0' })).toThrow(/EVIDENCE_MAX_CHARS/);
    expect(() => loadConfig({ REDELIVERY_AFTER_MS: 'soon' })).toThrow(/REDELIVERY_AFTER_MS/);
    expect(() => loadConfig({ BRIEF_DEBOUNCE_MS: '5000', BRIEF_MAX_WAIT_MS: '1000' })).toThrow(/BRIEF_MAX_WAIT_MS/);
  });

  it('housekeeping: retention, the audit types (known event types only, empty allowed) and the working views interval', () => {
    expect(loadConfig({}).housekeeping).toEqual({
      eventsRetentionDays: 90,
      auditEventTypes: ['CASE_DRAFTED', 'DOCUMENT_ADDED', 'EVIDENCE_ADDED', 'RESEARCH_COMPLETED', 'AGENT_FAILED'],
      workingViewsRefreshEveryMs: 300_000,
    });
    const c = loadConfig({ EVENTS_RETENTION_DAYS: '30', EVENTS_AUDIT_TYPES: 'AGENT_FAILED, BRIEF_EVOLVED', WORKING_VIEWS_REFRESH_EVERY_MS: '60000' });
    expect(c.housekeeping).toEqual({ eventsRetentionDays: 30, auditEventTypes: ['AGENT_FAILED', 'BRIEF_EVOLVED'], workingViewsRefreshEveryMs: 60_000 });
    expect(loadConfig({ EVENTS_AUDIT_TYPES: '' }).housekeeping.auditEventTypes).toEqual([]);
    expect(() => loadConfig({ EVENTS_AUDIT_TYPES: 'AGENT_FAILED,NOT_A_TYPE' })).toThrow(/EVENTS_AUDIT_TYPES.*NOT_A_TYPE/);
    expect(() => loadConfig({ EVENTS_RETENTION_DAYS: '0' })).toThrow(/EVENTS_RETENTION_DAYS/);
    expect(() => loadConfig({ WORKING_VIEWS_REFRESH_EVERY_MS: '1000' })).toThrow(/WORKING_VIEWS_REFRESH_EVERY_MS/);
  });
});
