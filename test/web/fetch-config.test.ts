import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../workers/config.js';

describe('the fetch slice of the config', () => {
  it('has documented defaults', () => {
    expect(loadConfig({}).fetch).toEqual({
      allowedPorts: [80, 443],
      allowPrivateRanges: [],
      maxRedirects: 5,
      headersTimeoutMs: 10_000,
      totalTimeoutMs: 30_000,
      maxBytes: 5 * 1024 * 1024,
      allowedContentTypes: ['text/html', 'application/xhtml+xml', 'text/plain', 'text/markdown', 'application/pdf'],
      userAgent: 'casework/0.1.0 (+url-ingestion)',
    });
  });

  it('reads lists and normalises them', () => {
    const c = loadConfig({
      FETCH_ALLOWED_PORTS: ' 443, 8443 ',
      FETCH_ALLOW_PRIVATE_RANGES: '127.0.0.0/8, ::1, 10.20.0.0/16',
      FETCH_ALLOWED_CONTENT_TYPES: 'Text/HTML,application/pdf',
      FETCH_USER_AGENT: 'casework-test',
      FETCH_MAX_REDIRECTS: '0',
    }).fetch;
    expect(c.allowedPorts).toEqual([443, 8443]);
    expect(c.allowPrivateRanges).toEqual(['127.0.0.0/8', '::1', '10.20.0.0/16']);
    expect(c.allowedContentTypes).toEqual(['text/html', 'application/pdf']);
    expect([c.userAgent, c.maxRedirects]).toEqual(['casework-test', 0]);
  });

  it.each([
    [{ FETCH_ALLOWED_PORTS: '80,http' }, /FETCH_ALLOWED_PORTS/],
    [{ FETCH_ALLOWED_PORTS: '0' }, /FETCH_ALLOWED_PORTS/],
    [{ FETCH_ALLOW_PRIVATE_RANGES: '10.0.0.0/33' }, /FETCH_ALLOW_PRIVATE_RANGES.*10\.0\.0\.0\/33/],
    [{ FETCH_ALLOW_PRIVATE_RANGES: 'intranet' }, /FETCH_ALLOW_PRIVATE_RANGES/],
    [{ FETCH_ALLOWED_CONTENT_TYPES: 'html' }, /FETCH_ALLOWED_CONTENT_TYPES/],
    [{ FETCH_MAX_BYTES: '-1' }, /FETCH_MAX_BYTES/],
  ])('refuses %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
