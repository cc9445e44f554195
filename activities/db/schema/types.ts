/** Column types drizzle does not ship, shared by the schema files. */
import { customType } from 'drizzle-orm/pg-core';

/** Raw bytes (an uploaded PDF); postgres.js reads and writes them as a Buffer. */
export const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

/** Written by PostgreSQL only (a generated column), never by the application. */
export const tsvector = customType<{ data: string; driverData: string }>({ dataType: () => 'tsvector' });
