/**
 * `npm run record-histories`: runs the chat workflows on a throw-away dev server and an
 * embedded database, and saves their histories as JSON under test/replay/histories/, for
 * the replay tests. Re-record after an intended workflow change (behind `patched()`).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { createActivities } from '../../activities/index.js';
import { createDb } from '../../activities/db/client.js';
import { startEmbeddedPostgres } from '../../activities/db/embedded.js';
import { runMigrations } from '../../activities/db/migrate.js';
import { createLocalAssistant } from '../../activities/llm/local-assistant.js';
import { createLocalEmbedder } from '../../activities/llm/local-embedder.js';
import { QUEUE_KINDS, queueNames } from '../../workers/config.js';
import { bundleWorkflows, createWorkers } from '../../workers/worker.js';
import { workflowIds } from '../../workflows/types.js';
import { seedThread, seedUser, sendMessage, waitForAnswer, eventually } from '../helpers/chat.js';
import { devServerArgs, findTemporalCli, freePort, waitForTemporal } from '../helpers/temporal-server.js';
import { agentSuggestions } from '../../activities/db/schema/index.js';

const out = fileURLToPath(new URL('./histories/', import.meta.url));
const workflowsPath = fileURLToPath(new URL('../fixtures/workflows-with-agents.ts', import.meta.url));

Runtime.install({ logger: new DefaultLogger('WARN') });
const port = await freePort();
const server = spawn(findTemporalCli(), devServerArgs({ port, headless: true }), { stdio: 'ignore' });
const address = `127.0.0.1:${port}`;
const pg = await startEmbeddedPostgres({ port: 0 });
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
    activities: createActivities({
      db: database.db, assistant: createLocalAssistant(), embedder: createLocalEmbedder(64), temporal: client,
      config: { queues, chat: { redeliveryAfterMs: 30_000 } }, clock: () => new Date(),
    }),
    workflowBundle: await bundleWorkflows(workflowsPath),
    shutdownGraceMs: 1000,
  });
  const running = workers.map((w) => w.run());

  const user = await seedUser(database.db, 'recorder');
  const thread = await seedThread(database.db, user.id);
  const send = async (content: string) => {
    const m = await sendMessage({ db: database.db, client, queues, threadId: thread.id, userId: user.id }, content);
    return waitForAnswer(database.db, thread.id, m.id);
  };
  await send('Our goal is to research the market for oat milk in Leeds.');
  await send('We assume demand grows. The budget must stay under 50k.');
  await send('Find sources and investigate the competitors. There is a risk prices rise.');
  await eventually(() => database.db.select().from(agentSuggestions), (rows) => rows.length > 0);
  await send('yes');
  const burst = [];
  for (const text of ['Should we pick between two suppliers?', 'We expect rents to fall.', 'What evidence is there?']) {
    burst.push(await sendMessage({ db: database.db, client, queues, threadId: thread.id, userId: user.id }, text));
  }
  await waitForAnswer(database.db, thread.id, burst[2]!.id);
  await new Promise((r) => setTimeout(r, 1000));

  mkdirSync(out, { recursive: true });
  const listed = client.workflow.list({ query: `ThreadId = "${thread.id}"` });
  const save = async (workflowId: string, name: string) => {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    writeFileSync(`${out}${name}.json`, historyToJSON(history));
    console.log(`saved ${name} (${history.events?.length} events)`);
  };
  await save(workflowIds.conversation(thread.id), 'conversation');
  await save(workflowIds.chatTitle(thread.id), 'generate-chat-title');
  for await (const wf of listed) {
    if (wf.type === 'generateSignalEmbeddings') {
      await save(wf.workflowId, 'generate-signal-embeddings');
      break;
    }
  }
  for (const w of workers) w.shutdown();
  await Promise.allSettled(running);
  await database.close();
  await nativeConnection.close();
} finally {
  await pg.stop();
  server.kill('SIGTERM');
}
