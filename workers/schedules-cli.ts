/**
 * `npm run schedules`: creates or updates every Temporal Schedule (workers/schedules.ts).
 * Runs whatever CASEWORK_SCHEDULES says: that setting is about the worker doing it on start.
 */
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { loadConfig } from './config.js';
import { upsertSchedules } from './schedules.js';
import { temporalConnectionOptions } from './temporal-connection.js';

const config = loadConfig();
const target = await temporalConnectionOptions(config);
let connection: Connection;
try {
  connection = await Connection.connect(target.connectionOptions as ConnectionOptions);
} catch (err) {
  console.error(`schedules: cannot connect to Temporal at ${target.connectionOptions.address}: ${String(err)}`);
  process.exit(1);
}
try {
  const client = new Client({ connection, namespace: target.namespace });
  for (const { scheduleId, outcome } of await upsertSchedules(client, config)) {
    console.log(`schedule ${scheduleId}: ${outcome} (namespace ${target.namespace})`);
  }
} catch (err) {
  console.error(`schedules: could not create or update the schedules: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await connection.close();
}
