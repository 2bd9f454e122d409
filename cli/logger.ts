/**
 * The pino logger the `foreman` and `worker` commands use: JSON lines (one
 * object per event, with taskId/workerId fields) for machines, pretty lines
 * on a terminal, and tokens redacted wherever they would appear.
 */
import { pino, type Logger } from 'pino';

/** Fields that may hold a token; pino replaces their values before a line is written. */
export const REDACTED_PATHS = [
  'settings.workerToken',
  'settings.apiToken',
  'settings.readToken',
  'settings.joinToken',
  'settings.controlToken',
  'settings.llmApiKey',
  'hello.authToken',
  'req.headers.authorization',
  'headers.authorization',
];

/**
 * Creates the process logger.
 * @param pretty human-readable output through pino-pretty (for a terminal); JSON otherwise.
 */
export function createLogger(level: string, pretty: boolean): Logger {
  return pino({
    level,
    // An unset token stays null in the log, so "no token configured" remains visible; in the settings dump a
    // token in force reads `[set]`.
    redact: {
      paths: REDACTED_PATHS,
      censor: (value, path) => (value === null || value === undefined ? value : path[0] === 'settings' ? '[set]' : '[redacted]'),
    },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
  });
}
