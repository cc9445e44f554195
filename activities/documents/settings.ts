/** The document pipeline's slice of the config (ActivityConfig.documents); defaults from the one config module. */
import { DOCUMENT_DEFAULTS, type DocumentConfig } from '../../workers/config.js';

/** `evidenceMax` may be left out (the default applies): a test that sets chunk sizes need not name it. */
export type DocumentSettings = Pick<DocumentConfig, 'chunkTokens' | 'chunkOverlapTokens' | 'embedBatchSize'> & Partial<Pick<DocumentConfig, 'evidenceMax'>>;

export const DEFAULT_DOCUMENT_SETTINGS: Required<DocumentSettings> = {
  chunkTokens: DOCUMENT_DEFAULTS.chunkTokens,
  chunkOverlapTokens: DOCUMENT_DEFAULTS.chunkOverlapTokens,
  embedBatchSize: DOCUMENT_DEFAULTS.embedBatchSize,
  evidenceMax: DOCUMENT_DEFAULTS.evidenceMax,
};
