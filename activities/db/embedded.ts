import { PGlite } from '@electric-sql/pglite';
import { EmbeddedPgServer, type EmbeddedPgServerOptions } from './embedded-server.js';

export interface EmbeddedPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * PGlite (PostgreSQL in WebAssembly) served over the wire protocol, so the same
 * `postgres` driver and drizzle code run against it. One backend serves every
 * connection: session state is shared and work is serialised.
 *
 * `dataDir`: a folder to persist to, or undefined for memory only; `port`: 0 for a free port;
 * the rest: limits that keep one misbehaving connection from blocking the others.
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPgServerOptions & { dataDir?: string; port: number; host?: string },
): Promise<EmbeddedPostgres> {
  const db = await PGlite.create(options.dataDir);
  const server = new EmbeddedPgServer(db, options);
  const host = options.host ?? '127.0.0.1';
  const port = await server.listen(options.port, host);
  return {
    url: `postgres://postgres@${host}:${port}/postgres`,
    port,
    async stop() {
      await server.close();
      await db.close();
    },
  };
}
