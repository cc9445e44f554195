/** The seed's `generate_chat_title_workflow`: a child that outlives the conversation. */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { chatTitle } from '../policies.js';
import type { ChatTitleInput } from '../types.js';

const { generateTitle } = proxyActivities<Activities>(chatTitle);

export async function generateChatTitle(input: ChatTitleInput): Promise<{ title: string; generated: boolean }> {
  return generateTitle.executeWithOptions({ ...chatTitle, summary: 'Title the thread (no-op when it has one)' }, [
    { threadId: input.threadId },
  ]);
}
