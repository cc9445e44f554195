/** Recorded histories (npm run record-histories) replay against today's workflow code. */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { installTestRuntime } from '../helpers/temporal.js';
import { testBundle } from '../helpers/stack.js';

const historiesDir = fileURLToPath(new URL('./histories/', import.meta.url));
// The recording registered test agents, so its workflows index is the one replayed.
const workflowsPath = fileURLToPath(new URL('../fixtures/workflows-with-agents.ts', import.meta.url));
const changedPath = fileURLToPath(new URL('./fixtures/changed-conversation.ts', import.meta.url));

const histories = readdirSync(historiesDir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ name: f.replace(/\.json$/, ''), history: JSON.parse(readFileSync(historiesDir + f, 'utf8')) as unknown }));

beforeAll(() => installTestRuntime());

describe('replay of recorded histories', () => {
  it('has the chat workflows recorded', () => {
    expect(histories.map((h) => h.name).sort()).toEqual(['conversation', 'generate-chat-title', 'generate-signal-embeddings']);
  });

  for (const { name, history } of histories) {
    it(`replays ${name} without a determinism error`, async () => {
      const bundle = await testBundle(workflowsPath);
      await Worker.runReplayHistory({ workflowBundle: bundle }, history, `replay-${name}`);
    });
  }

  it('raises a determinism error when the conversation changed its steps without a patch', async () => {
    const conversation = histories.find((h) => h.name === 'conversation')!;
    const bundle = await testBundle(changedPath);
    await expect(Worker.runReplayHistory({ workflowBundle: bundle }, conversation.history, 'replay-changed')).rejects.toBeInstanceOf(
      DeterminismViolationError,
    );
  });
});
