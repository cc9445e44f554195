/**
 * The worker the URL fault test runs as a child process (`node --import tsx
 * test/fault/url-worker-process.ts`): the real workers, activities and fetcher on the usual
 * environment (TEMPORAL_ADDRESS, DATABASE_URL, CASEWORK_QUEUE_PREFIX, FETCH_*: the test
 * allowlists its loopback site there), as workers/main.ts builds them, with the workflow
 * bundle read from FAULT_WORKFLOW_BUNDLE (the test writes it once). It prints
 * `fault-worker ready` once its workers run.
 */
import { runFaultWorker } from './fault-worker.js';

await runFaultWorker();
