/** The documents slice of the config: defaults, overrides, and an overlap that must be smaller than a chunk. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../workers/config.js';

describe('document config', () => {
  it('defaults to 10 MiB uploads, 512-token chunks with 64 of overlap, 64 chunks per embedding call, 5 passages of evidence, 2 parse threads', () => {
    expect(loadConfig({}).documents).toEqual({
      maxBytes: 10 * 1024 * 1024, chunkTokens: 512, chunkOverlapTokens: 64, embedBatchSize: 64, evidenceMax: 5, parseThreads: 2, parseDeadlineMs: 60_000,
    });
  });

  it('reads DOCUMENT_MAX_BYTES, CHUNK_TOKENS, CHUNK_OVERLAP_TOKENS, EMBED_BATCH_SIZE, DOCUMENT_EVIDENCE_MAX and the parse pool\'s settings', () => {
    const env = {
      DOCUMENT_MAX_BYTES: '1000', CHUNK_TOKENS: '100', CHUNK_OVERLAP_TOKENS: '0', EMBED_BATCH_SIZE: '8', DOCUMENT_EVIDENCE_MAX: '0',
      DOCUMENT_PARSE_THREADS: '3', DOCUMENT_PARSE_DEADLINE_MS: '5000',
    };
    expect(loadConfig(env).documents).toEqual({
      maxBytes: 1000, chunkTokens: 100, chunkOverlapTokens: 0, embedBatchSize: 8, evidenceMax: 0, parseThreads: 3, parseDeadlineMs: 5000,
    });
  });

  it('caps the evidence a document gives at 50 passages', () => {
    expect(loadConfig({ DOCUMENT_EVIDENCE_MAX: '50' }).documents.evidenceMax).toBe(50);
    expect(() => loadConfig({ DOCUMENT_EVIDENCE_MAX: '51' })).toThrow(/DOCUMENT_EVIDENCE_MAX/);
    expect(() => loadConfig({ DOCUMENT_EVIDENCE_MAX: '-1' })).toThrow(/DOCUMENT_EVIDENCE_MAX/);
  });

  it('refuses an overlap as large as a chunk, and sizes that are not positive', () => {
    expect(() => loadConfig({ CHUNK_TOKENS: '64', CHUNK_OVERLAP_TOKENS: '64' })).toThrow(/CHUNK_OVERLAP_TOKENS \(64\) must be smaller than CHUNK_TOKENS \(64\)/);
    expect(() => loadConfig({ EMBED_BATCH_SIZE: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ DOCUMENT_PARSE_THREADS: '0' })).toThrow(/DOCUMENT_PARSE_THREADS/);
    expect(() => loadConfig({ DOCUMENT_PARSE_DEADLINE_MS: 'soon' })).toThrow(/DOCUMENT_PARSE_DEADLINE_MS/);
    expect(() => loadConfig({ DOCUMENT_MAX_BYTES: '-1' })).toThrow(/DOCUMENT_MAX_BYTES/);
  });
});
