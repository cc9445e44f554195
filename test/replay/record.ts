/**
 * `npm run record-histories`: runs the production workflows (workflows/index.ts, the bundle
 * the worker runs) on a throw-away dev server and an embedded database, and saves their
 * histories as JSON under test/replay/histories/, for the replay tests. The conversation
 * is driven through what matters for determinism: a continue-as-new, a burst, a cancelled
 * reply and a failed reply. Re-record after an intended workflow change, and keep the
 * histories recorded before it (they prove the change is behind `patched()`). Names after
 * `--` save only those (`npm run record-histories -- redeliver-messages`); the rest is
 * still driven, so every recording sees the same world.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { signalBriefChanged } from '../../activities/briefs/client.js';
import { createActivities } from '../../activities/index.js';
import { createDb } from '../../activities/db/client.js';
import { startEmbeddedPostgres } from '../../activities/db/embedded.js';
import { runMigrations } from '../../activities/db/migrate.js';
import type { Llm } from '../../activities/llm/llm.js';
import { createLocalLlm } from '../../activities/llm/llm.js';
import { createLocalEmbedder } from '../../activities/llm/local-embedder.js';
import { startIngestEvidence } from '../../activities/evidence/start.js';
import { storeEvidence } from '../../activities/evidence/store.js';
import { createSafeFetcher } from '../../activities/web/fetcher.js';
import { normaliseSubmittedUrl, startFetchUrlAndIngest } from '../../activities/web/ingest-start.js';
import { loadConfig, QUEUE_KINDS, queueNames, RESEARCH_DEFAULTS } from '../../workers/config.js';
import { startAgentRun } from '../../activities/agents/start.js';
import { seedDocument } from '../helpers/retrieval.js';
import { bundleWorkflows, createWorkers } from '../../workers/worker.js';
import { storeUserMessage } from '../../api/chat-handoff.js';
import { cancelEvolutionSignal, cancelReplySignal } from '../../workflows/messages.js';
import { workflowIds } from '../../workflows/types.js';
import { eventually, seedThread, seedUser, sendMessage, waitForAnswer } from '../helpers/chat.js';
import type { Activities } from '../../activities/index.js';
import { agentSuggestions, documents, idempotencyKeys, inquiries, INQUIRY_KINDS, messages, threads } from '../../activities/db/schema/index.js';
import { startInquiry } from '../../activities/inquiries/start.js';
import { commitAgentRun } from '../../activities/agents/runs.js';
import { extractionWorkflowId, startExtractSignals } from '../../activities/signal-extraction.js';
import { BRIEF_AGENT, CASE_DRAFT, CRITIQUE_AGENT, RESEARCH_AGENT } from '../../workflows/agents/catalog.js';
import type { ExtractSignalsInput, SignalSource } from '../../workflows/types.js';
import { startProcessDocument } from '../../activities/documents/start.js';
import { withActivityFaults } from '../helpers/activity-faults.js';
import { ABOVE_09, AXIS, seedScopeThread, seedSignals } from '../helpers/signal-maintenance.js';
import { nominalDateOf } from '../../workflows/maintenance/nominal-date.js';
import type { ScheduleSignalConsolidationInput } from '../../workflows/types.js';
import { briefVersions, seedEvidence, seedLink, seedSignal } from '../helpers/briefs.js';
import { documentRow, reprocessDocument, seedCase, submitDocument } from '../helpers/documents.js';
import { imageOnlyPdf } from '../helpers/pdf.js';
import { storeDocument } from '../../activities/documents/store.js';
import { devServerArgs, findTemporalCli, freePort, waitForTemporal } from '../helpers/temporal-server.js';
import { ARTICLE_PAGE, html, startSite } from '../helpers/url-site.js';

const out = fileURLToPath(new URL('./histories/', import.meta.url));
const only = new Set(process.argv.slice(2));
/** Short, so the redelivery job finds the rows it is shown after a brief wait. */
const REDELIVERY_AFTER_MS = 200;

/** Small chunks, so the recorded document runs several embedding batches. */
const RECORDED_DOCUMENT_SIZES = { chunkTokens: 64, chunkOverlapTokens: 8, embedBatchSize: 4 };

/** Small batches, so the recorded on-demand extraction reads a document in several. */
const RECORDED_EXTRACTION_BOUNDS = { maxMessages: 4, maxChars: 20_000 };

/** A context of 50 tokens: the recorded research run hands over after its first round. */
const RECORDED_RESEARCH = { ...RESEARCH_DEFAULTS, maxIterations: 2, stallRounds: 2, contextTokens: 50 };

/** The title of the case whose first brief evolution hangs until it is cancelled. */
const SLOW_BRIEF = 'a slow brief';

/**
 * Replies slowly to "slow" messages (so a cancel lands) and fails "broken" ones (and BROKEN evidence) for good; the
 * first brief of SLOW_BRIEF hangs until its evolution is cancelled.
 */
function scriptedLlm(): Llm {
  const local = createLocalLlm();
  let slowBriefs = 0;
  return {
    ...local,
    async writeBrief(draft, call) {
      if (draft.title !== SLOW_BRIEF || slowBriefs++ > 0) return local.writeBrief(draft, call);
      return new Promise((_, reject) => call?.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    },
    async scoreEvidence(input, call) {
      if (input.text.includes('BROKEN')) throw ApplicationFailure.nonRetryable('the model refused this one', 'LlmBadRequest');
      return local.scoreEvidence(input, call);
    },
    async reply(input) {
      const last = [...input.history].reverse().find((t) => t.role === 'user')?.content ?? '';
      if (last.includes('broken')) throw ApplicationFailure.nonRetryable('the model refused this one', 'LlmBadRequest');
      if (last.includes('slow')) {
        await new Promise((resolve, reject) => {
          const timer = setTimeout(resolve, 10_000);
          input.signal?.addEventListener('abort', () => (clearTimeout(timer), reject(new Error('aborted'))));
        });
      }
      return local.reply(input);
    },
  };
}

/** Database outages aimed at one document: its named activity fails its first `calls` calls (after `delayMs`) as unreachable. */
const outages = new Map<string, Map<string, { calls: number; delayMs?: number }>>();
/** Run once inside a document's index step, after it committed (the document is completed, its run still open). */
const afterIndexCommit = new Map<string, () => Promise<void>>();

function scriptedDocuments(acts: Activities): Activities {
  const outage = async (name: string, args: unknown[]) => {
    const plan = outages.get((args[0] as { documentId?: string } | undefined)?.documentId ?? '')?.get(name);
    if (!plan || plan.calls === 0) return;
    plan.calls -= 1;
    await new Promise((r) => setTimeout(r, plan.delayMs ?? 0));
    throw ApplicationFailure.retryable('the database is unreachable (ECONNREFUSED)', 'DatabaseUnavailable');
  };
  const indexDocumentChunks: Activities['indexDocumentChunks'] = async (req) => {
    const result = await acts.indexDocumentChunks(req);
    const hook = afterIndexCommit.get(req.documentId);
    afterIndexCommit.delete(req.documentId);
    await hook?.();
    return result;
  };
  return withActivityFaults({ ...acts, indexDocumentChunks }, { calls: new Map(), commitThenThrowOnce: new Set() }, outage);
}

Runtime.install({ logger: new DefaultLogger('WARN') });
const port = await freePort();
const server = spawn(findTemporalCli(), devServerArgs({ port, headless: true }), { stdio: 'ignore' });
const address = `127.0.0.1:${port}`;
const pg = await startEmbeddedPostgres({ port: 0 });
// The page fetchUrlAndIngest is recorded fetching: loopback, allowlisted for this recording only.
const site = await startSite({ '/article': html(ARTICLE_PAGE) });
const fetchConfig = { ...loadConfig({}).fetch, ...site.fetchConfig };
const fetcher = createSafeFetcher(fetchConfig);
try {
  await waitForTemporal(address, 30_000);
  await runMigrations(pg.url);
  const database = createDb(pg.url);
  const queues = queueNames('record-');
  const nativeConnection = await NativeConnection.connect({ address });
  const client = new Client({ connection: await Connection.connect({ address }) });
  const workers = await createWorkers({
    connection: nativeConnection,
    namespace: 'default',
    queues,
    kinds: QUEUE_KINDS,
    activities: scriptedDocuments(createActivities({
      db: database.db, llm: scriptedLlm(), embedder: createLocalEmbedder(64), temporal: client,
      config: {
        queues, chat: { redeliveryAfterMs: REDELIVERY_AFTER_MS }, redelivery: { afterMs: REDELIVERY_AFTER_MS }, documents: RECORDED_DOCUMENT_SIZES, fetch: fetchConfig,
        signalExtraction: RECORDED_EXTRACTION_BOUNDS, research: RECORDED_RESEARCH,
      },
      clock: () => new Date(), fetcher,
    })),
    workflowBundle: await bundleWorkflows(),
    shutdownGraceMs: 1000,
  });
  const running = workers.map((w) => w.run());

  const user = await seedUser(database.db, 'recorder');
  const thread = await seedThread(database.db, user.id);
  /** Stores an item and starts its run, as the gateway does. */
  const ingestEvidenceIn = async (target: string, text: string) => {
    const { evidence: item } = await storeEvidence(database.db, { caseId: target, userId: user.id, text });
    const input = { evidenceId: item.id, caseId: target, userId: user.id, queues };
    return startIngestEvidence(client, input, { contentHash: item.contentHash, deadline: Date.now() + 10_000 });
  };
  const signalNames = async (workflowId: string) =>
    ((await client.workflow.getHandle(workflowId).fetchHistory()).events ?? []).flatMap((e) =>
      e.workflowExecutionSignaledEventAttributes?.signalName ? [e.workflowExecutionSignaledEventAttributes.signalName] : [],
    );
  const options = { db: database.db, client, queues, threadId: thread.id, userId: user.id, extra: { maxTurnsPerRun: 3 } };
  const ask = async (content: string) => waitForAnswer(database.db, thread.id, (await sendMessage(options, content)).id);
  await ask('Our goal is to open a second bakery in Leeds next spring.');
  await ask('We assume rents near the station are about 2000 pounds a month.');
  const burst = [];
  for (const text of ['The budget must stay under 150k.', 'Should we lease or buy the ovens?', 'There is a risk the landlord sells.']) {
    burst.push(await sendMessage(options, text));
  }
  await waitForAnswer(database.db, thread.id, burst[2]!.id);
  const slow = await sendMessage(options, 'A slow question about the lease terms.');
  await new Promise((r) => setTimeout(r, 1500));
  await client.workflow.getHandle(workflowIds.conversation(thread.id)).signal(cancelReplySignal);
  await waitForAnswer(database.db, thread.id, slow.id);
  await ask('This one is broken on purpose.');
  await ask('What should we decide first?');
  // Step 6 has suggested a case by now; a "yes" starts its draft (step 1), which drafts the case.
  await eventually(
    () => database.db.select().from(agentSuggestions).where(and(eq(agentSuggestions.threadId, thread.id), eq(agentSuggestions.kind, 'structure'))),
    (rows) => rows.length > 0,
  );
  await ask('yes');
  const draftId = `draft-case-${thread.id}`;
  await eventually(async () => (await client.workflow.getHandle(draftId).describe()).status.name, (s) => s === 'COMPLETED');
  // The thread is on its drafted case and goes quiet (nothing left for step 3's rules), then
  // evidence that contradicts its assumption is ingested: the pipeline tells the conversation
  // (`evidenceAdded`) before its next turn.
  const [draftedThread] = await database.db.select({ caseId: threads.caseId }).from(threads).where(eq(threads.id, thread.id));
  const chatCase = draftedThread!.caseId!;
  await ask('Thanks, that is noted.');
  await ask('Good, carry on with that.');
  const contradicting = await ingestEvidenceIn(chatCase, 'Rents near the station are 3500 pounds a month, the letting agent wrote.');
  await client.workflow.getHandle(contradicting).result();
  await eventually(() => signalNames(workflowIds.conversation(thread.id)), (names) => names.includes('evidenceAdded'));
  await ask('What does that change for us?');
  await new Promise((r) => setTimeout(r, 1000));

  mkdirSync(out, { recursive: true });
  const save = async (name: string, workflowId: string, runId?: string) => {
    if (only.size > 0 && !only.has(name)) return;
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    writeFileSync(`${out}${name}.json`, historyToJSON(history));
    console.log(`saved ${name} (${history.events?.length} events)`);
  };
  const runs = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId = "${workflowIds.conversation(thread.id)}"` })) runs.push(wf);
  runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  for (const [i, run] of runs.entries()) await save(`conversation-run-${i + 1}`, run.workflowId, run.runId);
  await eventually(async () => (await client.workflow.getHandle(workflowIds.chatTitle(thread.id)).describe()).status.name, (s) => s === 'COMPLETED');
  await save('generate-chat-title', workflowIds.chatTitle(thread.id));
  await save('draft-case-workflow', draftId);
  for await (const wf of client.workflow.list({ query: `ThreadId = "${thread.id}" AND WorkflowType = "generateSignalEmbeddings"` })) {
    await save('generate-signal-embeddings', wf.workflowId);
    break;
  }
  // The redelivery job, shown what a gateway crash between commit and start leaves: a message
  // stored but never signalled (in a thread with no conversation yet), a document and a piece
  // of evidence stored but never started.
  const lostThread = await seedThread(database.db, user.id);
  const { message: lost } = await storeUserMessage(database.db, user.id, lostThread.id, 'Stored, and never signalled.');
  const lostCase = await seedCase(database.db, user.id, 'a case whose starts were lost');
  const lostDocument = await storeDocument(database.db, {
    caseId: lostCase, userId: user.id, source: 'upload', title: 'lost.md', contentType: 'text/markdown', content: '# Lost\n\nStored, and never started.',
  });
  const lostItem = await storeEvidence(database.db, { caseId: lostCase, userId: user.id, text: 'Stored evidence, never started.' });
  const lostDraftThread = await seedThread(database.db, user.id, 'a thread whose draft was never started');
  const lostDraft = await database.db.transaction((tx) =>
    commitAgentRun(tx, { descriptor: CASE_DRAFT, userId: user.id, threadId: lostDraftThread.id, correlationId: randomUUID() }));
  await new Promise((r) => setTimeout(r, REDELIVERY_AFTER_MS + 100));
  const redeliveryId = 'record-redeliver-messages';
  await client.workflow.execute('redeliverMessages', { workflowId: redeliveryId, taskQueue: queues.maintenance, args: [{ queues }] });
  await waitForAnswer(database.db, lostThread.id, lost.id);
  await client.workflow.getHandle(workflowIds.document(lostDocument.document.id)).result();
  await client.workflow.getHandle(workflowIds.evidence(lostCase, lostItem.evidence.contentHash)).result();
  await eventually(async () => (await client.workflow.getHandle(lostDraft.workflowId).describe()).status.name, (s) => s === 'COMPLETED');
  await save('redeliver-messages', redeliveryId);
  // processDocument: a markdown document that completes, and an image-only PDF that fails
  // (the cleanup path), started as the gateway starts them.
  const caseId = await seedCase(database.db, user.id);
  const submitted = { db: database.db, client, queues, caseId, userId: user.id };
  const plan = Array.from({ length: 30 }, (_, i) => `Paragraph ${i}: the bakery weighs its lease, ovens and flour.`).join('\n\n');
  const done = await submitDocument(submitted, { title: 'plan.md', contentType: 'text/markdown', content: `# Plan\n\n${plan}` });
  await client.workflow.getHandle(done.workflowId).result();
  await save('process-document', done.workflowId);
  // extractSignalsWorkflow: the processed document in batches of 4 chunks, continuing as new
  // after 2; and chosen messages of the conversation's thread (on its drafted case now).
  const extractFrom = async (source: SignalSource, contentHashOf?: string, extra: Partial<ExtractSignalsInput> = {}) => {
    const input: ExtractSignalsInput = { caseId: extra.caseId ?? caseId, userId: user.id, correlationId: randomUUID(), source, queues, ...extra };
    return startExtractSignals(client, input, extractionWorkflowId(source, contentHashOf), Date.now() + 10_000);
  };
  const [planRow] = await database.db.select({ contentHash: documents.contentHash }).from(documents).where(eq(documents.id, done.documentId));
  const fromDocument = await extractFrom({ kind: 'document', documentId: done.documentId }, planRow!.contentHash, { batchesPerRun: 2 });
  await client.workflow.getHandle(fromDocument).result();
  const documentRuns = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId = "${fromDocument}"` })) documentRuns.push(wf);
  documentRuns.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  await save('extract-signals-workflow-run-1', fromDocument, documentRuns[0]!.runId);
  const said = (await database.db.select().from(messages).where(and(eq(messages.threadId, thread.id), eq(messages.role, 'user'), eq(messages.status, 'complete')))).slice(0, 3);
  const fromMessages = await extractFrom({ kind: 'messages', threadId: thread.id, messageIds: said.map((m) => m.id) }, undefined, { caseId: chatCase });
  await client.workflow.getHandle(fromMessages).result();
  await save('extract-signals-workflow-messages', fromMessages);
  const failed = await submitDocument(submitted, { title: 'scan.pdf', contentType: 'application/pdf', content: await imageOnlyPdf() });
  await client.workflow.getHandle(failed.workflowId).result().catch(() => undefined);
  await save('process-document-failed', failed.workflowId);
  // A start repeated after the run ended: the document is not waiting, and the run does nothing.
  await startProcessDocument(client, { documentId: done.documentId, caseId, userId: user.id, queues }, { deadline: Date.now() + 10_000 });
  await client.workflow.getHandle(done.workflowId).result();
  await save('process-document-skipped', done.workflowId);
  // Two short database outages further apart than the (shortened) hold: each is held on its own.
  const held = await storeDocument(database.db, { caseId, userId: user.id, source: 'upload', title: 'held.md', contentType: 'text/markdown', content: `# Held\n\n${plan}` });
  outages.set(held.document.id, new Map([['extractDocumentText', { calls: 1 }], ['embedDocumentChunks', { calls: 1, delayMs: 2_200 }]]));
  const heldRun = await startProcessDocument(client, { documentId: held.document.id, caseId, userId: user.id, queues }, {
    deadline: Date.now() + 10_000, overrides: { outageHoldMs: 2_000 },
  });
  await client.workflow.getHandle(heldRun).result().catch(() => undefined);
  await save('process-document-two-outages', heldRun);
  // A reprocess that meets the run as it closes: the run continues as new, and the next one processes it.
  const closing = await storeDocument(database.db, { caseId, userId: user.id, source: 'upload', title: 'closing.md', contentType: 'text/markdown', content: `# Closing\n\n${plan}` });
  afterIndexCommit.set(closing.document.id, async () => void (await reprocessDocument(submitted, closing.document.id)));
  const closingRun = await startProcessDocument(client, { documentId: closing.document.id, caseId, userId: user.id, queues }, { deadline: Date.now() + 10_000 });
  const { runId: continuedRunId } = await client.workflow.getHandle(closingRun).describe();
  await client.workflow.getHandle(closingRun).result();
  await save('process-document-requested-again', closingRun, continuedRunId);
  // fetchUrlAndIngest: a page that becomes a document (its processDocument child awaited, so it
  // ends before the workers do), and a private address refused at once.
  const ingestUrl = async (url: string) => {
    const normalised = normaliseSubmittedUrl(url);
    if (!('url' in normalised)) throw new Error(normalised.problem);
    const input = { caseId, userId: user.id, url: normalised.url, queues };
    return startFetchUrlAndIngest(client, input, { deadline: Date.now() + 10_000 });
  };
  const fetched = await ingestUrl(site.url('/article'));
  const page: { documentId: string } = await client.workflow.getHandle(fetched.workflowId).result();
  await client.workflow.getHandle(workflowIds.document(page.documentId)).result();
  await save('fetch-url-and-ingest', fetched.workflowId);
  // The same page after its document failed: the document is processed again (a new run of its id).
  await database.db.update(documents).set({ processingStatus: 'failed', error: 'embedding failed: the service was down' }).where(eq(documents.id, page.documentId));
  const refetched = await ingestUrl(site.url('/article'));
  await client.workflow.getHandle(refetched.workflowId, refetched.runId).result();
  await eventually(() => documentRow(database.db, page.documentId), (d) => d.processingStatus === 'completed');
  await save('fetch-url-and-ingest-restarted', refetched.workflowId, refetched.runId);
  const blocked = await ingestUrl('http://10.0.0.1/');
  await client.workflow.getHandle(blocked.workflowId).result().catch(() => undefined);
  await save('fetch-url-and-ingest-blocked', blocked.workflowId);
  // evolveBrief: a burst evolved once, a second evolution and continue-as-new, then an idle
  // close; and a case whose evolution is cancelled while its model writes, then evolves again.
  // A case of its own: the documents above told their case's brief already, with the default windows.
  const briefCase = await seedCase(database.db, user.id, 'a brief');
  const briefWindows = { debounceMs: 300, maxWaitMs: 2000, idleCloseMs: 1500, staleEvidenceDays: 180 };
  const claim = await seedSignal(database.db, { caseId: briefCase, type: 'assumption', text: 'Rents near the station are 2000 pounds' });
  const tellBrief = async (target: string, id: string, extra = {}) =>
    signalBriefChanged(client, { caseId: target, userId: user.id }, { kind: 'evidence-added', id }, { queues, brief: briefWindows, deadline: Date.now() + 10_000, overrides: extra });
  for (const text of ['An agent quotes 1900 pounds', 'A listing asks 2100 pounds', 'Rents near the station are 3000 pounds']) {
    const item = await seedEvidence(database.db, { caseId: briefCase, userId: user.id, text });
    await seedLink(database.db, { caseId: briefCase, evidenceId: item.id, signalId: claim.id, relation: text.includes('3000') ? 'contradicts' : 'supports' });
    await tellBrief(briefCase, item.id, { maxEvolutionsPerRun: 2 });
  }
  await eventually(() => briefVersions(database.db, briefCase), (v) => v.length === 1);
  await tellBrief(briefCase, claim.id);
  await client.workflow.getHandle(workflowIds.evolveBrief(briefCase)).result();
  const slowCase = await seedCase(database.db, user.id, SLOW_BRIEF);
  await tellBrief(slowCase, claim.id);
  await new Promise((r) => setTimeout(r, 1500));
  await client.workflow.getHandle(workflowIds.evolveBrief(slowCase)).signal(cancelEvolutionSignal);
  await tellBrief(slowCase, claim.id);
  await client.workflow.getHandle(workflowIds.evolveBrief(slowCase)).result();
  const listBriefRuns = async () => {
    const found = [];
    for await (const wf of client.workflow.list({ query: `WorkflowId = "${workflowIds.evolveBrief(briefCase)}"` })) found.push(wf);
    return found.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  };
  // Visibility is eventually consistent: both runs, both closed.
  const briefRuns = await eventually(listBriefRuns, (r) => r.length === 2 && r.every((run) => run.status.name !== 'RUNNING'));
  for (const [i, run] of briefRuns.entries()) await save(`evolve-brief-run-${i + 1}`, run.workflowId, run.runId);
  await save('evolve-brief-cancelled', workflowIds.evolveBrief(slowCase));
  // ingestEvidence: an item that contradicts a signal of the case (linked, a contradiction,
  // the brief told), and one the model refuses (the cleanup path), started as the gateway does.
  await seedSignal(database.db, { caseId, type: 'assumption', text: 'We assume rents near the station are about 2000 pounds a month.' });
  const ingestEvidence = (text: string) => ingestEvidenceIn(caseId, text);
  const ingested = await ingestEvidence('Rents near the station are 3500 pounds a month, the letting agent wrote.');
  await client.workflow.getHandle(ingested).result();
  await save('ingest-evidence', ingested);
  const refused = await ingestEvidence('This piece of evidence is BROKEN on purpose.');
  await client.workflow.getHandle(refused).result().catch(() => undefined);
  await save('ingest-evidence-failed', refused);
  // Signal maintenance: a thread with a near-duplicate pair, a stale signal and one not embedded
  // yet, consolidated by the fan-out (one scope a run: it continues as new), then the temperatures.
  const maintained = await seedScopeThread(database.db, user.id);
  const now = Date.now();
  await seedSignals(database.db, { threadId: maintained }, now, [
    { confidence: 0.9, embedding: AXIS }, { confidence: 0.6, embedding: ABOVE_09 }, { confidence: 0.8, lastSeenDaysAgo: 60 },
    { text: 'the ovens are leased for three years', embedding: null }, ...Array.from({ length: 8 }, () => ({})),
  ]);
  const fanOut = await client.workflow.start('scheduleSignalConsolidation', {
    workflowId: `record-manual-signal-consolidation-${randomUUID()}`, taskQueue: queues.maintenance,
    args: [{ queues, nominalTime: now, scopesPerRun: 1, concurrency: 2 } satisfies ScheduleSignalConsolidationInput],
  });
  await fanOut.result();
  await save('schedule-signal-consolidation-run-1', fanOut.workflowId, fanOut.firstExecutionRunId);
  await save('consolidate-thread-signals', workflowIds.consolidate({ kind: 'thread', id: maintained }, nominalDateOf(now, 'UTC').date, false));
  const temperatures = await client.workflow.start('updateSignalTemperatures', {
    workflowId: `record-manual-signal-temperatures-${randomUUID()}`, taskQueue: queues.maintenance, args: [{ queues, nominalTime: now }],
  });
  await temperatures.result();
  await save('update-signal-temperatures', temperatures.workflowId);
  // researchAgent: a case corpus, a context small enough that the run hands over after its
  // first round (continue-as-new with the handoff summary), then a second round and the report.
  const researchCase = await seedCase(database.db, user.id, 'research');
  await seedDocument(database.db, { caseId: researchCase, userId: user.id, title: 'Station notes' }, [
    'Bakery rents near the station averaged 3500 pounds a month in March 2025.',
    'Leasing a deck oven costs 450 pounds a month over five years for a small bakery.',
  ]);
  const researchStart = await startAgentRun(
    { db: database.db, temporal: client, queues },
    { descriptor: RESEARCH_AGENT, userId: user.id, caseId: researchCase, topic: 'bakery rents and oven leasing near the station', correlationId: randomUUID() },
  );
  await client.workflow.getHandle(researchStart.row.workflowId).result();
  const researchRuns = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId = "${researchStart.row.workflowId}"` })) researchRuns.push(wf);
  researchRuns.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  for (const [i, run] of researchRuns.entries()) await save(`research-agent-run-${i + 1}`, run.workflowId, run.runId);
  // critiqueAgent and briefAgent (issue 20) on the same corpus, with a claim resting on one
  // item (the critique's annotations); the small context hands each over after its first round too.
  const reviewedClaim = await seedSignal(database.db, { caseId: researchCase, type: 'assumption', text: 'Bakery rents near the station are affordable' });
  const item = await seedEvidence(database.db, { caseId: researchCase, userId: user.id, text: 'A letting agent called station rents fair.', credibility: 0.3 });
  await seedLink(database.db, { caseId: researchCase, evidenceId: item.id, signalId: reviewedClaim.id, relation: 'supports' });
  for (const [descriptor, name] of [[CRITIQUE_AGENT, 'critique-agent'], [BRIEF_AGENT, 'brief-agent']] as const) {
    const started = await startAgentRun(
      { db: database.db, temporal: client, queues },
      { descriptor, userId: user.id, caseId: researchCase, topic: 'bakery rents and oven leasing near the station', correlationId: randomUUID() },
    );
    await client.workflow.getHandle(started.row.workflowId).result();
    const runs = [];
    for await (const wf of client.workflow.list({ query: `WorkflowId = "${started.row.workflowId}"` })) runs.push(wf);
    runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
    for (const [i, run] of runs.entries()) await save(`${name}-run-${i + 1}`, run.workflowId, run.runId);
  }
  // The inquiry workflows (Phase 2B): each kind of one inquiry on the research case's corpus,
  // with its processDocument child, to completion.
  const [inquiry] = await database.db.insert(inquiries).values({ caseId: researchCase, userId: user.id, question: 'Should the bakery lease its deck oven?' }).returning();
  for (const kind of INQUIRY_KINDS) {
    const started = await startInquiry(client, { inquiryId: inquiry!.id, kind, caseId: researchCase, userId: user.id, correlationId: randomUUID(), queues }, { deadline: Date.now() + 10_000 });
    await client.workflow.getHandle(started.workflowId).result();
    await save(`inquiry-${kind}`, started.workflowId);
  }
  // The seed's names for Temporal clients (Decision 35): each alias starting its v2 workflow
  // (the inquiry's aliases a second version of each kind), and the removed name failing at once.
  const legacy: [string, unknown[]][] = [
    ['generate_research_artifact_v2', [researchCase, 'oven leasing', user.id, randomUUID(), null]],
    ['generate_research_artifact', [researchCase, 'oven leasing', user.id, randomUUID()]],
    ['generate_critique_artifact', [researchCase, 'oven leasing', user.id, randomUUID()]],
    ['generate_brief_artifact', [researchCase, 'oven leasing', user.id, randomUUID()]],
    ['generate_research_workflow', [inquiry!.id, user.id]],
    ['generate_debate_workflow', [inquiry!.id, user.id]],
    ['generate_critique_workflow', [inquiry!.id, user.id]],
  ];
  for (const [workflowType, args] of legacy) {
    const workflowId = `record-${workflowType.replaceAll('_', '-')}`;
    const { workflowId: started } = await client.workflow.execute<(...a: unknown[]) => Promise<{ workflowId: string }>>(workflowType, { workflowId, taskQueue: queues.research, args });
    await save(workflowId.replace('record-', ''), workflowId);
    await client.workflow.getHandle(started).result();
  }
  await client.workflow.execute('extract_document_signals_workflow', { workflowId: 'record-extract-document-signals', taskQueue: queues.research, args: [researchCase] }).catch(() => undefined);
  await save('extract-document-signals-workflow', 'record-extract-document-signals');
  // The housekeeping jobs, last (the cleanup ages every row it may take): a cleanup that finds
  // old events, an expired Idempotency-Key answer and closed runs' progress, in batches; and a
  // refresh of the working views.
  await database.db.execute(sql`update events set created_at = now() - interval '100 days'`);
  await database.db.execute(sql`update run_progress set created_at = now() - interval '100 days'`);
  await database.db.insert(idempotencyKeys).values({ userId: user.id, route: 'POST /v1/threads', key: 'expired', requestHash: 'h', responseStatus: 201, responseBody: {}, createdAt: new Date(Date.now() - 2 * 86_400_000) });
  await client.workflow.execute('cleanupOldEvents', { workflowId: 'record-cleanup-old-events', taskQueue: queues.maintenance, args: [{ batchSize: 20 }] });
  await save('cleanup-old-events', 'record-cleanup-old-events');
  await client.workflow.execute('refreshWorkingViews', { workflowId: 'record-refresh-working-views', taskQueue: queues.maintenance, args: [{}] });
  await save('refresh-working-views', 'record-refresh-working-views');
  for (const w of workers) w.shutdown();
  await Promise.allSettled(running);
  await fetcher.close();
  await database.close();
  await nativeConnection.close();
} finally {
  await site.close();
  await pg.stop();
  server.kill('SIGTERM');
}
