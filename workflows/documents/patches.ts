/**
 * `patched()` ids of the document pipeline (processDocument, fetchUrlAndIngest): each names a
 * change of the commands a running run issues, so runs recorded before it replay as they ran.
 * Runs are bounded (35 minutes at most), so a patch can move to `deprecatePatch` once every
 * worker runs it and an hour has passed, and go after that.
 */
export const DOCUMENT_PATCHES = {
  /** An outage's hold ends with the step's success: the next outage gets a window of its own. */
  outageWindowPerOutage: 'document-outage-window-per-outage',
  /** A URL that finds its existing document failed starts its processing again. */
  restartFailedUrlDocument: 'url-restart-failed-document',
  /** A completed upload or fetched page gives its case evidence: its passages, ingested by children that outlive the run. */
  evidenceFromPassages: 'document-evidence-from-passages',
} as const;
