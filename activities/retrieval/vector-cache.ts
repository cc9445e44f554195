/**
 * A process's vectors of the cases it searched, per (case, kind, dimensions), as one
 * Float32Array each (vector-scan.ts), so a search compares them in memory instead of reading
 * every vector from the database. Before each search one indexed query reads the case's
 * `retrieval_versions` (bumped by triggers in the transaction of every write that changes a
 * kind's searchable vectors, whichever process writes); a set whose version moved is brought
 * up to date by a diff of ids (the rows that left are dropped, only the new ones read), or
 * read again whole when a vector was rewritten in place (`rewrites` moved). The version is
 * read before the rows, so a set is never older than the version it is stored under.
 * Sets are held least recently used first within `vectorCacheBytes`; a set larger than that
 * alone is used for its search and not kept. One cache per database handle: two handles are
 * two caches, as two processes would be.
 */
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { retrievalVersions } from '../db/schema/index.js';
import type { PassageKind, VectorTable } from './types.js';
import { decodeInto, vectorSetBytes, type VectorSet } from './vector-scan.js';

/** Vectors read per statement while loading: bounds what one read holds in flight (~2 KB a row at 256 dimensions). */
export const LOAD_BATCH = 5_000;

export interface VersionStamp {
  version: number;
  rewrites: number;
}

interface Entry extends VectorSet {
  stamp: VersionStamp;
  /** The row bound it was read under; another bound reads again. */
  bound: number;
  limitReached: boolean;
  bytes: number;
}

export interface LoadedSet extends VectorSet {
  limitReached: boolean;
  /** How it was obtained: from memory, by a diff of ids, or read whole. */
  source: 'cache' | 'diff' | 'full';
}

export class VectorCache {
  private readonly entries = new Map<string, Entry>();
  /** Loads under way, so searches that miss together read once. */
  private readonly loading = new Map<string, Promise<LoadedSet>>();
  private bytes = 0;

  constructor(private maxBytes: number) {}

  /** A new bound; a lower one evicts at once. */
  resize(maxBytes: number): void {
    this.maxBytes = maxBytes;
    this.evict();
  }

  /** Every kind's stamp for a case in one query; a kind never written is version 0. */
  async stamps(db: Db, caseId: string): Promise<Map<PassageKind, VersionStamp>> {
    const rows = await db
      .select({ kind: retrievalVersions.kind, version: retrievalVersions.version, rewrites: retrievalVersions.rewrites })
      .from(retrievalVersions)
      .where(eq(retrievalVersions.caseId, caseId));
    return new Map(rows.map((r) => [r.kind, { version: Number(r.version), rewrites: Number(r.rewrites) }]));
  }

  /** The case's vectors of one kind at `stamp` (read after it), at most `bound` rows. */
  async get(db: Db, table: VectorTable, caseId: string, dimensions: number, bound: number, stamp: VersionStamp): Promise<LoadedSet> {
    const key = `${caseId}:${table.kind}:${dimensions}`;
    const held = this.entries.get(key);
    if (held && held.bound === bound && held.stamp.version === stamp.version && held.stamp.rewrites === stamp.rewrites) {
      this.entries.delete(key);
      this.entries.set(key, held);
      return { ...held, source: 'cache' };
    }
    const loadKey = `${key}:${bound}:${stamp.version}:${stamp.rewrites}`;
    const inFlight = this.loading.get(loadKey);
    if (inFlight) return inFlight;
    const reusable = held && held.bound === bound && held.stamp.rewrites === stamp.rewrites ? held : undefined;
    const loading = this.refresh(db, table, { key, caseId, dimensions, bound, stamp }, reusable);
    this.loading.set(loadKey, loading);
    try {
      return await loading;
    } finally {
      this.loading.delete(loadKey);
    }
  }

  private async refresh(
    db: Db,
    table: VectorTable,
    o: { key: string; caseId: string; dimensions: number; bound: number; stamp: VersionStamp },
    reusable: Entry | undefined,
  ): Promise<LoadedSet> {
    const { key, caseId, dimensions, bound, stamp } = o;
    const loaded = await load(db, table, caseId, dimensions, bound, reusable);
    this.forget(key);
    const bytes = vectorSetBytes(loaded.ids.length, dimensions);
    if (bytes <= this.maxBytes) {
      this.entries.set(key, { ...loaded, stamp, bound, bytes });
      this.bytes += bytes;
      this.evict();
    }
    return { ...loaded, source: reusable ? 'diff' : 'full' };
  }

  /** What the cache holds, for tests and the bench. */
  held(): { sets: number; bytes: number; keys: string[] } {
    return { sets: this.entries.size, bytes: this.bytes, keys: [...this.entries.keys()] };
  }

  private forget(key: string): void {
    const old = this.entries.get(key);
    if (!old) return;
    this.entries.delete(key);
    this.bytes -= old.bytes;
  }

  /** Least recently used first (a Map iterates in insertion order; a hit re-inserts). */
  private evict(): void {
    for (const key of this.entries.keys()) {
      if (this.bytes <= this.maxBytes) return;
      this.forget(key);
    }
  }
}

async function load(db: Db, table: VectorTable, caseId: string, dimensions: number, bound: number, reuse: Entry | undefined) {
  const found = await table.vectorIds(db, caseId, dimensions, bound + 1);
  const limitReached = found.length > bound;
  const ids = limitReached ? found.slice(0, bound) : found;
  const data = new Float32Array(ids.length * dimensions);
  const norms = new Float64Array(ids.length);
  const at = new Map<string, number>();
  const missing: string[] = [];
  const before = reuse ? new Map(reuse.ids.map((id, i) => [id, i])) : undefined;
  ids.forEach((id, i) => {
    const old = before?.get(id);
    if (old === undefined) {
      at.set(id, i);
      missing.push(id);
      return;
    }
    data.set(reuse!.data.subarray(old * dimensions, (old + 1) * dimensions), i * dimensions);
    norms[i] = reuse!.norms[old]!;
  });
  for (let first = 0; first < missing.length; first += LOAD_BATCH) {
    // A row gone since the ids were read stays at norm 0 (it scores nothing); the next search's version says so.
    for (const row of await table.vectorsOf(db, caseId, missing.slice(first, first + LOAD_BATCH))) {
      const i = at.get(row.id);
      if (i !== undefined) norms[i] = decodeInto(row.embedding, data, i * dimensions, dimensions);
    }
  }
  return { dimensions, ids, data, norms, limitReached };
}

const caches = new WeakMap<Db, VectorCache>();

/** The cache of this database handle, created on its first search; its bound follows the latest settings. */
export function vectorCacheOf(db: Db, maxBytes: number): VectorCache {
  let cache = caches.get(db);
  if (!cache) {
    cache = new VectorCache(maxBytes);
    caches.set(db, cache);
  }
  else cache.resize(maxBytes);
  return cache;
}
