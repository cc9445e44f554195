/** The seed's `generate_signal_embeddings`: started when a chat turn creates signals. */
import { CancellationScope, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { signalEmbedding, TASK_TIME_LIMIT } from '../policies.js';
import type { GenerateSignalEmbeddingsInput } from '../types.js';

const { embedSignals } = proxyActivities<Activities>(signalEmbedding);

export async function generateSignalEmbeddings(input: GenerateSignalEmbeddingsInput): Promise<{ embedded: number }> {
  return CancellationScope.withTimeout(input.timeLimitMs ?? TASK_TIME_LIMIT, () =>
    embedSignals.executeWithOptions({ ...signalEmbedding, summary: `Embed ${input.signalIds.length} signal(s)` }, [
      { signalIds: input.signalIds },
    ]),
  );
}
