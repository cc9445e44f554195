/**
 * The routes that read what research leaves (issue 19): a case's artifacts, newest first and
 * paged; one artifact with its versions and each citation resolved to its source and the span it
 * quotes (a citation naming a source of another run resolves to nothing); the trajectory of a
 * run of the caller's; a case's agent runs, running first. Another user's are 404.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentRuns, artifacts, artifactVersions, researchSources, researchSteps } from '../../activities/db/schema/index.js';
import { call, createThread, insertCase, startApi, type ApiHarness } from './harness.js';

let h: ApiHarness;
let caseId: string;
let threadId: string;
const workflowId = `research-case-${randomUUID()}`;
const TEXT = 'Rents near the station are 3500 pounds a month, the letting agent wrote.';

beforeAll(async () => {
  h = await startApi();
  caseId = await insertCase(h.database, h.alice.id);
  threadId = (await createThread(h.app, h.alice, { caseId })).id;
});

afterAll(async () => {
  await h?.close();
});

async function seedArtifact(title: string, run = workflowId) {
  const db = h.database.db;
  const [source] = await db.insert(researchSources).values({ workflowId: run, caseId, kind: 'chunk', ref: randomUUID(), title: 'notes', query: 'rents', text: TEXT, iteration: 1 }).returning();
  const [foreign] = await db.insert(researchSources).values({ workflowId: `other-${randomUUID()}`, caseId, kind: 'chunk', ref: randomUUID(), title: 'x', query: 'q', text: 'other', iteration: 1 }).returning();
  const [artifact] = await db.insert(artifacts).values({ caseId, userId: h.alice.id, kind: 'research', workflowId: run, title }).returning();
  const start = TEXT.indexOf('3500');
  await db.insert(artifactVersions).values({
    artifactId: artifact!.id, version: 1, markdown: '# R\n- 3500 pounds [1] [2]', metadata: { stopReason: 'answered' },
    citations: [
      { n: 1, findingId: randomUUID(), sourceId: source!.id, quote: '3500 pounds a month', spanStart: start, spanEnd: start + 19 },
      { n: 2, findingId: randomUUID(), sourceId: foreign!.id, quote: 'other', spanStart: 0, spanEnd: 5 },
    ],
  });
  return artifact!.id;
}

describe('artifacts', () => {
  it('lists a case\'s artifacts newest first, paged, and shows one with its citations resolved to their source spans', async () => {
    const first = await seedArtifact('first', `research-${randomUUID()}`);
    const second = await seedArtifact('second');
    const page1 = await call(h.app, h.alice, { method: 'GET', url: `/v1/cases/${caseId}/artifacts?limit=1` });
    expect(page1.statusCode).toBe(200);
    expect(page1.json().artifacts.map((a: { id: string }) => a.id)).toEqual([second]);
    const page2 = await call(h.app, h.alice, { method: 'GET', url: `/v1/cases/${caseId}/artifacts?limit=1&after=${page1.json().nextAfter}` });
    expect(page2.json()).toMatchObject({ artifacts: [{ id: first, latestVersion: 1 }], nextAfter: null });

    const one = await call(h.app, h.alice, { method: 'GET', url: `/v1/artifacts/${second}` });
    expect(one.statusCode).toBe(200);
    const [version] = one.json().versions;
    // The citation of a source of another run resolves to nothing.
    expect(version.citations).toHaveLength(1);
    expect(version.citations[0]).toMatchObject({ n: 1, quote: '3500 pounds a month', source: { kind: 'chunk', span: { text: '3500 pounds a month' } } });

    expect((await call(h.app, h.bob, { method: 'GET', url: `/v1/artifacts/${second}` })).statusCode).toBe(404);
    expect((await call(h.app, h.bob, { method: 'GET', url: `/v1/cases/${caseId}/artifacts` })).statusCode).toBe(404);
  });

  it('shows the trajectory of a run of the caller\'s, and the case\'s agent runs running first', async () => {
    const db = h.database.db;
    const runId = `research-${caseId}-${randomUUID()}`;
    await db.insert(agentRuns).values([
      { workflowId: `research-${caseId}-${randomUUID()}`, type: 'research', workflowType: 'researchAgent', queue: 'research', userId: h.alice.id, caseId, threadId, correlationId: 'c1', input: {}, status: 'completed' },
      { workflowId: runId, type: 'research', workflowType: 'researchAgent', queue: 'research', userId: h.alice.id, caseId, threadId, correlationId: 'c2', input: {}, status: 'running' },
    ]);
    await db.insert(researchSteps).values({ workflowId: runId, phase: 'plan', iteration: 0, input: { topic: 't' }, output: { queries: ['q'] }, tokens: 10, latencyMs: 3 });
    const trajectory = await call(h.app, h.alice, { method: 'GET', url: `/v1/workflows/${runId}/trajectory` });
    expect(trajectory.json()).toMatchObject({ workflowId: runId, steps: [{ phase: 'plan', iteration: 0, tokens: 10, output: { queries: ['q'] } }] });
    expect((await call(h.app, h.bob, { method: 'GET', url: `/v1/workflows/${runId}/trajectory` })).statusCode).toBe(404);
    const listed = await call(h.app, h.alice, { method: 'GET', url: `/v1/cases/${caseId}/agents` });
    expect(listed.json().runs.map((r: { status: string }) => r.status)).toEqual(['running', 'completed']);
  });
});
