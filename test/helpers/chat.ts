/** Seeds users and threads, and sends messages the way the gateway does. */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { asc, eq } from 'drizzle-orm';
import type { Db } from '../../activities/db/client.js';
import { messages, threads, users, type MessageRow } from '../../activities/db/schema/index.js';
import { signalConversation, storeUserMessage } from '../../api/chat-handoff.js';
import type { ConversationInput, QueueNames } from '../../workflows/types.js';

export async function seedUser(db: Db, name = `user-${randomUUID().slice(0, 8)}`) {
  const [user] = await db.insert(users).values({ name }).returning();
  return user!;
}

export async function seedThread(db: Db, userId: string, title: string | null = null) {
  const [thread] = await db.insert(threads).values({ userId, title }).returning();
  return thread!;
}

export interface SendOptions {
  db: Db;
  client: Client;
  queues: QueueNames;
  threadId: string;
  userId: string;
  extra?: Partial<ConversationInput>;
}

/** Sends a message exactly as the gateway does (api/chat-handoff.ts). */
export async function sendMessage(o: SendOptions, content: string): Promise<MessageRow> {
  const stored = await storeUserMessage(o.db, o.userId, o.threadId, content);
  await signalConversation(o.client, o.queues, o.userId, stored, o.extra);
  return stored.message;
}

export async function threadMessages(db: Db, threadId: string): Promise<MessageRow[]> {
  return db.select().from(messages).where(eq(messages.threadId, threadId)).orderBy(asc(messages.seq));
}

/** Polls until `check` holds (visibility and replies are asynchronous). */
export async function eventually<T>(fn: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await fn();
  while (!check(last)) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(last)?.slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 50));
    last = await fn();
  }
  return last;
}

/** Waits until the user message is answered (complete or failed) and returns the thread. */
export async function waitForAnswer(db: Db, threadId: string, messageId: string, timeoutMs = 20_000) {
  const all = await eventually(
    () => threadMessages(db, threadId),
    (rows) => rows.some((r) => r.id === messageId && r.status !== 'pending'),
    timeoutMs,
  );
  const asked = all.find((r) => r.id === messageId)!;
  const reply = all.find((r) => r.id === asked.replyId);
  return { asked, reply, all };
}

export const byRole = (rows: MessageRow[], role: MessageRow['role']) => rows.filter((r) => r.role === role);
