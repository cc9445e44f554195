/** What the agent tests read back: a run's row once it ended, and the artifact it wrote. */
import { eq } from 'drizzle-orm';
import type { Db } from '../../activities/db/client.js';
import { agentRuns, artifacts, artifactVersions } from '../../activities/db/schema/index.js';
import { eventually } from './chat.js';

/** The run's `agent_runs` row once it is `completed` or `failed` (within a minute). */
export async function agentRunEnded(db: Db, workflowId: string) {
  const row = await eventually(
    async () => (await db.select().from(agentRuns).where(eq(agentRuns.workflowId, workflowId)))[0],
    (found) => found?.status === 'completed' || found?.status === 'failed',
    60_000,
  );
  return row!;
}

/** The artifact the run wrote (undefined if none) and its versions. */
export async function artifactOfRun(db: Db, workflowId: string) {
  const [artifact] = await db.select().from(artifacts).where(eq(artifacts.workflowId, workflowId));
  const versions = artifact ? await db.select().from(artifactVersions).where(eq(artifactVersions.artifactId, artifact.id)) : [];
  return { artifact, versions };
}
