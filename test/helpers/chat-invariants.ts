/**
 * The chat's durability invariant (issue 11, DESIGN.md Decision 1), checked over the
 * `messages` table of the given threads:
 * - every user message ends `complete`, answered by exactly one assistant reply whose
 *   `metadata.answers` lists it and whose id is the message's `reply_id`, or `failed` with a
 *   readable error (`metadata.error` on the message, or its reply's content), one that
 *   shows the user no SQL;
 * - no message id appears in two replies' `answers`;
 * - no reply is `pending` once the thread is quiet;
 * - no two reply rows answer the same set of messages.
 * An agent's progress message (`metadata.kind = 'agent-progress'`, Decision 29) is an
 * assistant message that answers no user message and lives as long as its agent: it is
 * outside the invariant, and left out of every check here.
 * Violations come back as sentences that name the thread, the message and why.
 */
import { inArray } from 'drizzle-orm';
import type { Db } from '../../activities/db/client.js';
import { messages, type MessageRow } from '../../activities/db/schema/index.js';
import { AGENT_PROGRESS_KIND } from '../../workflows/types.js';

const isAgentProgress = (row: MessageRow) => row.metadata?.kind === AGENT_PROGRESS_KIND;

export interface InvariantOptions {
  /** A failed user message is a violation too (Decision 28: a short outage fails none). */
  requireComplete?: boolean;
  /** Message ids the test sent: each must exist as a user message. */
  sent?: string[];
}

export interface InvariantReport {
  violations: string[];
  threads: number;
  userMessages: number;
  complete: number;
  failed: number;
  pending: number;
  replies: number;
}

const short = (id: string) => id.slice(0, 8);
const quote = (text: string, max = 60) => JSON.stringify(text.length > max ? `${text.slice(0, max - 3)}...` : text);
/** Defect 6: a reason shown to the user names no SQL statement and no parameters. */
const SHOWS_SQL = /failed query:|\bparams:\s|\bselect\s+("|\*)|\binsert\s+into\s|\bupdate\s+"\w+"\s+set\s|\bdelete\s+from\s/i;

function answersOf(reply: MessageRow): string[] | undefined {
  const answers = reply.metadata?.answers;
  return Array.isArray(answers) && answers.every((a) => typeof a === 'string') ? (answers as string[]) : undefined;
}

function readableError(message: MessageRow, reply: MessageRow | undefined): string | undefined {
  const own = message.metadata?.error;
  if (typeof own === 'string' && own.trim()) return own;
  if (reply && reply.content.trim()) return reply.content;
  const replyError = reply?.metadata?.error;
  return typeof replyError === 'string' && replyError.trim() ? replyError : undefined;
}

/** Checks one thread's rows (any order). */
export function checkThread(threadId: string, all: MessageRow[], options: InvariantOptions = {}): string[] {
  const rows = all.filter((r) => !isAgentProgress(r));
  const out: string[] = [];
  const say = (what: string) => out.push(`thread ${short(threadId)}: ${what}`);
  const users = rows.filter((r) => r.role === 'user');
  const replies = rows.filter((r) => r.role === 'assistant');
  const byId = new Map(rows.map((r) => [r.id, r]));
  const listedBy = new Map<string, MessageRow[]>();
  const bySet = new Map<string, MessageRow[]>();

  for (const reply of replies) {
    const label = `reply ${short(reply.id)} (seq ${reply.seq}, ${reply.status})`;
    if (reply.status === 'pending') say(`${label} is still pending while the thread is quiet`);
    const answers = answersOf(reply);
    if (!answers) {
      if (reply.status !== 'pending') say(`${label} has no metadata.answers`);
      continue;
    }
    if (answers.length === 0) say(`${label} answers no message (metadata.answers is empty)`);
    for (const id of answers) {
      listedBy.set(id, [...(listedBy.get(id) ?? []), reply]);
      const target = byId.get(id);
      if (!target || target.role !== 'user') say(`${label} lists ${short(id)}, which is not a user message of this thread`);
    }
    const key = [...answers].sort().join(',');
    bySet.set(key, [...(bySet.get(key) ?? []), reply]);
  }
  for (const [key, same] of bySet) {
    if (same.length > 1) {
      say(`${same.length} reply rows (${same.map((r) => short(r.id)).join(', ')}) answer the same messages [${key.split(',').map(short).join(', ')}]`);
    }
  }

  for (const m of users) {
    const label = `user message ${short(m.id)} (seq ${m.seq}, ${quote(m.content)})`;
    const listing = listedBy.get(m.id) ?? [];
    const reply = m.replyId ? byId.get(m.replyId) : undefined;
    if (listing.length > 1) say(`${label} appears in ${listing.length} replies' answers: ${listing.map((r) => `${short(r.id)} (${r.status})`).join(', ')}`);
    if (m.status === 'pending') {
      const why = listing.length > 0 ? `though reply ${listing.map((r) => `${short(r.id)} (${r.status})`).join(', ')} lists it` : 'no reply lists it';
      say(`${label} is still pending: ${why}`);
      continue;
    }
    if (m.status === 'complete') {
      if (!m.replyId) say(`${label} is complete but has no reply_id`);
      else if (!reply) say(`${label} is complete but its reply_id ${short(m.replyId)} is no message of this thread`);
      else {
        if (reply.status !== 'complete') say(`${label} is complete but its reply ${short(reply.id)} is ${reply.status}`);
        if (!answersOf(reply)?.includes(m.id)) say(`${label} points at reply ${short(reply.id)}, whose metadata.answers does not list it`);
      }
      if (listing.length === 0) say(`${label} is complete but no reply's metadata.answers lists it`);
      continue;
    }
    // failed
    const error = readableError(m, reply);
    if (!error) say(`${label} failed without a readable error (no metadata.error, no reply content)`);
    else if (SHOWS_SQL.test(error)) say(`${label} failed with an error that shows SQL to the user: ${quote(error, 160)}`);
    if (options.requireComplete) say(`${label} failed (${quote(error ?? 'no error', 160)}), but no message may fail here`);
  }

  for (const id of listedBy.keys()) {
    if (!byId.has(id)) say(`a reply lists ${short(id)}, which is not in this thread`);
  }
  return out;
}

/** The threads' chat messages (agents' progress messages left out), oldest first. */
export async function loadThreads(db: Db, threadIds: string[]): Promise<Map<string, MessageRow[]>> {
  const rows = threadIds.length ? await db.select().from(messages).where(inArray(messages.threadId, threadIds)) : [];
  const out = new Map<string, MessageRow[]>(threadIds.map((id) => [id, []]));
  for (const row of rows) if (!isAgentProgress(row)) out.get(row.threadId)?.push(row);
  for (const list of out.values()) list.sort((a, b) => a.seq - b.seq);
  return out;
}

/** Checks the threads as they are now. */
export async function checkChatInvariants(db: Db, threadIds: string[], options: InvariantOptions = {}): Promise<InvariantReport> {
  const all = await loadThreads(db, threadIds);
  const violations: string[] = [];
  const rows = [...all.values()].flat();
  for (const [threadId, list] of all) violations.push(...checkThread(threadId, list, options));
  const known = new Set(rows.filter((r) => r.role === 'user').map((r) => r.id));
  for (const id of options.sent ?? []) if (!known.has(id)) violations.push(`sent message ${short(id)} is not stored as a user message of these threads`);
  const users = rows.filter((r) => r.role === 'user');
  return {
    violations,
    threads: threadIds.length,
    userMessages: users.length,
    complete: users.filter((r) => r.status === 'complete').length,
    failed: users.filter((r) => r.status === 'failed').length,
    pending: users.filter((r) => r.status === 'pending').length,
    replies: rows.filter((r) => r.role === 'assistant').length,
  };
}

export interface QuietOptions {
  /** Give up waiting after this long (then check whatever is there). */
  timeoutMs?: number;
  /** With rows still pending, nothing changing for this long counts as quiet (a stuck thread). */
  settleMs?: number;
  /** With nothing pending, nothing changing for this long counts as quiet. */
  calmMs?: number;
}

export interface QuietResult {
  waitedMs: number;
  /** Why the wait ended: everything settled, nothing moved for settleMs, or the timeout. */
  reason: 'settled' | 'stuck' | 'timeout';
}

function fingerprint(all: Map<string, MessageRow[]>): { key: string; pending: number } {
  let pending = 0;
  const parts: string[] = [];
  for (const rows of all.values()) {
    for (const r of rows) {
      if (r.status === 'pending') pending++;
      parts.push(`${r.id}:${r.status}:${r.replyId ?? ''}:${JSON.stringify(r.metadata?.answers ?? null)}`);
    }
  }
  return { key: parts.join('|'), pending };
}

/** Waits (bounded) until the threads are quiet: nothing pending and nothing moving. */
export async function waitForQuiet(db: Db, threadIds: string[], options: QuietOptions = {}): Promise<QuietResult> {
  const { timeoutMs = 90_000, settleMs = 20_000, calmMs = 1_500 } = options;
  const started = Date.now();
  let last = '';
  let since = Date.now();
  for (;;) {
    const now = Date.now();
    let current: { key: string; pending: number } | undefined;
    try {
      current = fingerprint(await loadThreads(db, threadIds));
    } catch {
      // the database may be coming back (fault tests): keep polling until the timeout
    }
    if (current) {
      if (current.key !== last) {
        last = current.key;
        since = now;
      }
      const still = now - since;
      if (current.pending === 0 && still >= calmMs) return { waitedMs: now - started, reason: 'settled' };
      if (current.pending > 0 && still >= settleMs) return { waitedMs: now - started, reason: 'stuck' };
    }
    if (now - started >= timeoutMs) return { waitedMs: now - started, reason: 'timeout' };
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function describeReport(report: InvariantReport, quiet?: QuietResult): string {
  const head =
    `${report.threads} thread(s), ${report.userMessages} user message(s): ${report.complete} complete, ` +
    `${report.failed} failed, ${report.pending} pending; ${report.replies} reply row(s)` +
    (quiet ? `; quiet after ${Math.round(quiet.waitedMs / 1000)} s (${quiet.reason})` : '');
  if (report.violations.length === 0) return `${head}; invariant holds`;
  const shown = report.violations.slice(0, 60);
  const more = report.violations.length > shown.length ? `\n  ... and ${report.violations.length - shown.length} more` : '';
  return `${head}; ${report.violations.length} violation(s):\n  ${shown.join('\n  ')}${more}`;
}

/** Waits for quiet, then throws with every violation if the invariant does not hold. */
export async function expectChatInvariants(
  db: Db,
  threadIds: string[],
  options: InvariantOptions & QuietOptions = {},
): Promise<InvariantReport> {
  const quiet = await waitForQuiet(db, threadIds, options);
  const report = await checkChatInvariants(db, threadIds, options);
  const text = describeReport(report, quiet);
  console.log(`[chat invariant] ${text}`);
  if (report.violations.length > 0) throw new Error(`chat invariant violated: ${text}`);
  return report;
}
