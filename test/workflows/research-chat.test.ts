/**
 * Chat suggests the research agent (issue 19, Decision 30): with the real catalog, step 2 at the
 * third user turn proposes `research` with a topic taken from the conversation (the inflection
 * purpose's, stored on the suggestion); a "yes" starts researchAgent with that topic, its
 * placeholder in the thread: on the thread's case, or, in a thread with no case, through the
 * case draft (Decision 23), which starts it on the case it drafts.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentRuns, agentSuggestions, artifacts, messages, threads } from '../../activities/db/schema/index.js';
import { createLocalEmbedder } from '../../activities/llm/local-embedder.js';
import { createThread, insertCase, startApi, type ApiHarness } from '../api/harness.js';
import { eventually, sendMessage, waitForAnswer } from '../helpers/chat.js';
import { seedDocument, TEST_DIMENSIONS } from '../helpers/retrieval.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';

const BRIEF = { debounceMs: 200, maxWaitMs: 1_000, idleCloseMs: 1_000, staleEvidenceDays: 180 };
const RESEARCH = { budgetTokens: 200_000, maxIterations: 2, stallRounds: 1, contextTokens: 100_000, resultsPerQuery: 5, searchTimeoutMs: 2_000 };
const ASK = 'Could you research the sources on bakery rents near Leeds station?';

let h: ApiHarness;
let workers: RunningWorkers;

beforeAll(async () => {
  h = await startApi({ brief: BRIEF });
  workers = await startTestWorkers({ env: h.env, db: h.database.db, queues: h.queues, embedder: createLocalEmbedder(TEST_DIMENSIONS), brief: BRIEF, research: RESEARCH });
});

afterAll(async () => {
  await workers?.stop();
  await h?.close();
});

const db = () => h.database.db;
const chat = (threadId: string) => ({ db: db(), client: h.env.client, queues: h.queues, threadId, userId: h.alice.id, extra: {} });

async function suggestedResearch(threadId: string) {
  const send = async (content: string) => waitForAnswer(db(), threadId, (await sendMessage(chat(threadId), content)).id);
  await send('We want to open a second bakery in Leeds.');
  await send('Rent is the biggest unknown for us.');
  await send(ASK);
  const [suggestion] = await eventually(
    () => db().select().from(agentSuggestions).where(and(eq(agentSuggestions.threadId, threadId), eq(agentSuggestions.kind, 'agent'))),
    (rows) => rows.length === 1,
  );
  expect(suggestion).toMatchObject({ agentType: 'research', status: 'pending', topic: ASK });
  await send('yes');
  return suggestion!;
}

async function completedRun(workflowId: string) {
  return eventually(
    async () => (await db().select().from(agentRuns).where(eq(agentRuns.workflowId, workflowId)))[0],
    (row) => row?.status === 'completed' || row?.status === 'failed',
    60_000,
  );
}

describe('chat suggests research', () => {
  it('on a thread of a case: a "yes" starts the research agent with the proposed topic, its placeholder in the thread', async () => {
    const caseId = await insertCase(h.database, h.alice.id);
    await seedDocument(db(), { caseId, userId: h.alice.id, title: 'Leeds notes' }, ['Bakery rents near Leeds station averaged 3500 pounds a month in 2025.']);
    const threadId = (await createThread(h.app, h.alice, { caseId })).id;
    const suggestion = await suggestedResearch(threadId);
    const workflowId = `research-${caseId}-${suggestion.id}`;
    const run = await completedRun(workflowId);
    expect(run).toMatchObject({ status: 'completed', type: 'research', threadId, suggestionId: suggestion.id });
    expect(run!.input).toMatchObject({ topic: ASK });
    const [placeholder] = await db().select().from(messages).where(eq(messages.id, run!.placeholderMessageId!));
    expect(placeholder).toMatchObject({ threadId, status: 'complete' });
    expect(await db().select().from(artifacts).where(eq(artifacts.workflowId, workflowId))).toHaveLength(1);
  });

  it('on a thread with no case: the "yes" drafts a case first, which starts the research on it', async () => {
    const threadId = (await createThread(h.app, h.alice)).id;
    const suggestion = await suggestedResearch(threadId);
    const thread = await eventually(async () => (await db().select().from(threads).where(eq(threads.id, threadId)))[0]!, (t) => t.caseId !== null, 30_000);
    const run = await completedRun(`research-${thread.caseId}-${suggestion.id}`);
    expect(run).toMatchObject({ status: 'completed', caseId: thread.caseId });
    const [accepted] = await db().select().from(agentSuggestions).where(eq(agentSuggestions.id, suggestion.id));
    expect(accepted).toMatchObject({ status: 'accepted', workflowId: `draft-case-${threadId}`, agentWorkflowId: `research-${thread.caseId}-${suggestion.id}` });
  });
});
