/** JSON logs (pino) for the worker, with the SDK's workflow/activity context as fields. */
import { DefaultLogger, type LogEntry, type LogLevel } from '@temporalio/worker';
import pino from 'pino';

export function createPinoLogger(level: string, name: string) {
  return pino({ level, name, base: { service: name } });
}

const SDK_LEVEL: Record<string, LogLevel> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'ERROR',
  silent: 'ERROR',
};

/** The SDK logger (workflow `log`, activity `log`, the worker itself) routed into pino. */
export function sdkLogger(logger: pino.Logger): DefaultLogger {
  return new DefaultLogger(SDK_LEVEL[logger.level] ?? 'INFO', (entry: LogEntry) => {
    const fields = { ...(entry.meta ?? {}), sdk: true };
    const method = entry.level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
    logger[method](fields, entry.message);
  });
}
