/** The document pipeline's slice of the config (ActivityConfig.documents); defaults from the one config module. */
import { DOCUMENT_DEFAULTS, type DocumentConfig } from '../../workers/config.js';
import type { ParseSettings } from '../parse/pool.js';

/** `evidenceMax` and the parse pool's settings may be left out (the defaults apply): a test that sets chunk sizes need not name them. */
export type DocumentSettings = Pick<DocumentConfig, 'chunkTokens' | 'chunkOverlapTokens' | 'embedBatchSize'>
  & Partial<Pick<DocumentConfig, 'evidenceMax' | 'parseThreads' | 'parseDeadlineMs'>>
  & {
    /** Test hook, never read from the environment: every parse in a thread first holds it this long (ParseSettings.delayMs). */
    parseDelayMs?: number;
  };

export const DEFAULT_DOCUMENT_SETTINGS = {
  chunkTokens: DOCUMENT_DEFAULTS.chunkTokens,
  chunkOverlapTokens: DOCUMENT_DEFAULTS.chunkOverlapTokens,
  embedBatchSize: DOCUMENT_DEFAULTS.embedBatchSize,
  evidenceMax: DOCUMENT_DEFAULTS.evidenceMax,
} satisfies DocumentSettings;

/** The parse pool's settings: DOCUMENT_PARSE_THREADS, DOCUMENT_PARSE_DEADLINE_MS, and the test hook. */
export function parseSettingsOf(settings: DocumentSettings | undefined): ParseSettings {
  return {
    threads: settings?.parseThreads ?? DOCUMENT_DEFAULTS.parseThreads,
    deadlineMs: settings?.parseDeadlineMs ?? DOCUMENT_DEFAULTS.parseDeadlineMs,
    delayMs: settings?.parseDelayMs,
  };
}
