/** The document pipeline's slice of the config (ActivityConfig.documents); defaults from the one config module. */
import { DOCUMENT_DEFAULTS, type DocumentConfig } from '../../workers/config.js';

export type DocumentSettings = Pick<DocumentConfig, 'chunkTokens' | 'chunkOverlapTokens' | 'embedBatchSize'>;

export const DEFAULT_DOCUMENT_SETTINGS: DocumentSettings = {
  chunkTokens: DOCUMENT_DEFAULTS.chunkTokens,
  chunkOverlapTokens: DOCUMENT_DEFAULTS.chunkOverlapTokens,
  embedBatchSize: DOCUMENT_DEFAULTS.embedBatchSize,
};
