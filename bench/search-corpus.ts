/**
 * The search scenario's case: N passages in one case (80 % chunks of completed documents,
 * 10 % evidence, 10 % signals of the case), written by bulk SQL with the `local` embedder's
 * vectors, as their pipelines leave them. Deterministic from a seed: the same N gives the
 * same texts. Every passage holds the word "report" (a broad query matches every row); the
 * rarer words of a small vocabulary make narrow queries.
 */
import { createHash } from 'node:crypto';
import type postgres from 'postgres';
import { hashEmbedding } from '../activities/llm/local-embedder.js';
import { seeded } from '../test/helpers/random.js';

export const SEARCH_DIMENSIONS = 256;

/** Words a passage draws from: common ones often, rare ones seldom (so narrow queries match few rows). */
const COMMON = ['budget', 'rent', 'station', 'bakery', 'lease', 'ovens', 'staff', 'supplier', 'margin', 'customers', 'permit', 'council', 'footfall', 'loan', 'flour'];
const RARE = ['quokka', 'marmot', 'heron', 'ibis', 'lynx', 'tapir', 'gecko', 'okapi', 'narwhal', 'dingo', 'axolotl', 'echidna', 'wombat', 'kiwi', 'platypus', 'puffin'];
const FILLER = ['the', 'a', 'with', 'near', 'after', 'before', 'rose', 'fell', 'than', 'expected', 'per', 'month', 'in', 'our', 'new'];

/** The fixed query mix: narrow (a rare word or two, few rows) and broad (common words, "report" matches every row). */
export const SEARCH_QUERIES: readonly { query: string; kind: 'narrow' | 'broad' }[] = [
  { query: 'quokka', kind: 'narrow' },
  { query: 'heron lease', kind: 'narrow' },
  { query: '"okapi permit"', kind: 'narrow' },
  { query: 'narwhal or axolotl', kind: 'narrow' },
  { query: 'report', kind: 'broad' },
  { query: 'budget report', kind: 'broad' },
  { query: 'rent near the station', kind: 'broad' },
  { query: 'ovens supplier margin loan', kind: 'broad' },
];


function passageText(next: () => number, i: number): string {
  const words: string[] = [`report ${i}`];
  const length = 20 + Math.floor(next() * 40);
  for (let w = 0; w < length; w++) {
    const r = next();
    const pool = r < 0.02 ? RARE : r < 0.5 ? COMMON : FILLER;
    words.push(pool[Math.floor(next() * pool.length)]!);
  }
  return `${words.join(' ')}.`;
}

const vectorLiteral = (text: string) => `{${hashEmbedding(text, SEARCH_DIMENSIONS).map((x) => x.toPrecision(7)).join(',')}}`;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

export interface SeededCase {
  caseId: string;
  userId: string;
  counts: { chunk: number; evidence: number; signal: number };
}

const BATCH = 2_000;
const CHUNKS_PER_DOCUMENT = 100;

/** Writes one case of `passages` rows; `onBatch` hears progress (seeding 100k takes a while embedded). */
export async function seedSearchCase(sql: postgres.Sql, passages: number, seed = 17, onBatch?: (done: number) => void): Promise<SeededCase> {
  const next = seeded(seed);
  const [user] = await sql<{ id: string }[]>`insert into users (name) values (${`bench-search-${passages}-${Date.now()}`}) returning id`;
  const [kase] = await sql<{ id: string }[]>`insert into cases (user_id, title) values (${user!.id}, ${`search ${passages}`}) returning id`;
  const caseId = kase!.id;
  const userId = user!.id;
  const counts = { chunk: Math.round(passages * 0.8), evidence: Math.round(passages * 0.1), signal: 0 };
  counts.signal = passages - counts.chunk - counts.evidence;
  let done = 0;
  const batches = async (n: number, write: (texts: string[], vectors: string[], first: number) => Promise<unknown>) => {
    for (let first = 0; first < n; first += BATCH) {
      const texts = Array.from({ length: Math.min(BATCH, n - first) }, (_, j) => passageText(next, done + j));
      await write(texts, texts.map(vectorLiteral), first);
      done += texts.length;
      onBatch?.(done);
    }
  };
  await batches(counts.chunk, async (texts, vectors, first) => {
    // One completed document per 100 chunks.
    for (let d = 0; d < texts.length; d += CHUNKS_PER_DOCUMENT) {
      const part = texts.slice(d, d + CHUNKS_PER_DOCUMENT);
      const [doc] = await sql<{ id: string }[]>`
        insert into documents (case_id, user_id, source, title, content_type, content_hash, content, processing_status, chunk_count)
        values (${caseId}, ${userId}, 'upload', ${`document ${first + d}`}, 'text/plain', ${sha(`${caseId}${first + d}`)}, ${part.join('\n\n')}, 'completed', ${part.length})
        returning id`;
      await sql`
        insert into chunks (document_id, case_id, ordinal, text, token_count, embedding)
        select ${doc!.id}, ${caseId}, o - 1, t, 60, e::real[]
        from unnest(${sql.array(part)}::text[], ${sql.array(vectors.slice(d, d + CHUNKS_PER_DOCUMENT))}::text[]) with ordinality as u(t, e, o)`;
    }
  });
  await batches(counts.evidence, (texts, vectors) => sql`
    insert into evidence (case_id, user_id, text, content_hash, status, embedding)
    select ${caseId}, ${userId}, t, md5(t) || md5(e), 'completed', e::real[]
    from unnest(${sql.array(texts)}::text[], ${sql.array(vectors)}::text[]) as u(t, e)`);
  await batches(counts.signal, (texts, vectors) => sql`
    insert into signals (case_id, type, text, text_hash, confidence, embedding)
    select ${caseId}, 'assumption', t, md5(t) || md5(e), 0.8, e::real[]
    from unnest(${sql.array(texts)}::text[], ${sql.array(vectors)}::text[]) as u(t, e)`);
  await sql`analyze chunks`;
  await sql`analyze evidence`;
  await sql`analyze signals`;
  return { caseId, userId, counts };
}
