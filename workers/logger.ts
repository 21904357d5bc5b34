/**
 * driftplane's one logger: JSON lines (pino) for the worker, the Temporal runtime it forwards and
 * `driftplane serve`. Every line about a lifecycle carries its finding id; no line carries a secret:
 * credential-named fields are censored, and free text and values go through the redactor's rules
 * (the installation's redactor when given, the built-in credential shapes otherwise).
 */
import pino, { type DestinationStream, type Logger as PinoLogger } from 'pino';
import { createRedactor, type Redactor } from '../domain/redaction';
import type { Config } from './config';

/** A driftplane logger (pino). */
export type Logger = PinoLogger;

/** The levels a logger accepts (config.telemetry.logLevel, DRIFTPLANE_LOG_LEVEL). */
export type LogLevelName = Config['telemetry']['logLevel'];

/** Fields censored wherever pino finds them (top level and one level down): credentials and request headers. */
export const REDACTED_LOG_PATHS: readonly string[] = [
  'authorization',
  'cookie',
  'password',
  'secret',
  'token',
  'apiKey',
  'headers',
  // An activity's task token lets its holder complete the activity: Temporal's activity lines carry it.
  'taskToken',
  '*.authorization',
  '*.cookie',
  '*.password',
  '*.secret',
  '*.token',
  '*.apiKey',
  '*.headers',
  '*.taskToken',
  'req.headers',
  'body',
  '*.body',
];

/**
 * The lifecycle a line is about, from the Temporal ids in its fields: workflows and activities log
 * with `workflowId` (a lifecycle is `finding:<unit>:<fp>`, a hotfix window `hotfix:<unit>:<incident>`).
 */
export function lifecycleFields(fields: Record<string, unknown> | undefined): {
  findingId?: string;
  windowId?: string;
} {
  if (!fields) return {};
  const id =
    typeof fields.workflowId === 'string'
      ? fields.workflowId
      : typeof fields.findingId === 'string'
        ? fields.findingId
        : undefined;
  if (id?.startsWith('finding:')) return { findingId: id };
  if (id?.startsWith('hotfix:')) return { windowId: id };
  return {};
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  level: LogLevelName;
  /** Where lines go (default: stderr, so a command's stdout stays its output). */
  stream?: DestinationStream;
  /** The redactor for free text and values (default: the built-in credential shapes, unkeyed). */
  redactor?: Redactor;
  /** Fields on every line (e.g. `{ component: 'worker' }`). */
  base?: Record<string, unknown>;
}

/** A plain value of a log line, with secrets replaced; an Error keeps its type and (scrubbed) message and stack. */
function scrubValue(redactor: Redactor, value: unknown): unknown {
  if (typeof value === 'string') return redactor.text(value);
  if (value instanceof Error) {
    return {
      type: value.name,
      message: redactor.text(value.message),
      ...(value.stack ? { stack: redactor.text(value.stack) } : {}),
    };
  }
  if (value !== null && typeof value === 'object') return redactor.value(value);
  return value;
}

/** A JSON logger: level names, ISO times, credential fields censored, text and values redacted, finding ids added. */
export function createLogger(opts: LoggerOptions): Logger {
  const redactor = opts.redactor ?? createRedactor();
  return pino(
    {
      level: opts.level,
      base: { pid: process.pid, ...opts.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: [...REDACTED_LOG_PATHS], censor: '[REDACTED]' },
      formatters: {
        level: (label) => ({ level: label }),
        log: (fields) => {
          const out: Record<string, unknown> = {};
          for (const [k, v] of Object.entries(fields)) out[k] = scrubValue(redactor, v);
          return { ...out, ...lifecycleFields(fields) };
        },
      },
      hooks: {
        // The message (and any interpolation arguments) is free text: scrub it before pino formats it.
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? redactor.text(a) : a)) as Parameters<
            typeof method
          >;
          return method.apply(this, scrubbed);
        },
      },
    },
    opts.stream ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** The logger of a process from its config (level from DRIFTPLANE_LOG_LEVEL). */
export function loggerFor(
  config: Config,
  opts: Omit<LoggerOptions, 'level'> & { level?: LogLevelName } = {},
): Logger {
  return createLogger({ ...opts, level: opts.level ?? config.telemetry.logLevel });
}
