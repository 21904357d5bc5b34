/**
 * The worker's telemetry (docs/observability.md): the Temporal Runtime, installed once per process
 * with Temporal's own metrics in Prometheus format (when DRIFTPLANE_WORKER_METRICS_ADDRESS is set)
 * and every log entry (the SDK's, Core's, workflows' and activities') forwarded into driftplane's
 * JSON logger; and OpenTelemetry tracing through @temporalio/interceptors-opentelemetry, exported
 * over OTLP/HTTP when an endpoint is configured, off otherwise.
 */
import * as otel from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  type OpenTelemetrySinks,
} from '@temporalio/interceptors-opentelemetry';
import {
  makeTelemetryFilterString,
  Runtime,
  type ActivityInterceptorsFactory,
  type InjectedSinks,
} from '@temporalio/worker';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Config } from './config';
import { createLogger, type Logger, type LogLevelName, type LoggerOptions } from './logger';

const PINO_LEVEL: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** Temporal's log level for Core's own logs: as verbose as ours, but never below INFO (Core's DEBUG is per poll). */
function coreLevel(level: LogLevelName): LogLevel {
  switch (level) {
    case 'trace':
    case 'debug':
    case 'info':
      return 'INFO';
    case 'warn':
      return 'WARN';
    default:
      return 'ERROR';
  }
}

/**
 * Temporal's `Logger` over a pino logger: each entry becomes one JSON line with its metadata as
 * fields (workflowId, workflowType, activityType, taskQueue, sdkComponent...), so a lifecycle's
 * lines carry its finding id (workers/logger.ts adds it from workflowId).
 */
export class PinoTemporalLogger implements TemporalLogger {
  constructor(readonly pino: Logger) {}
  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    this.pino[PINO_LEVEL[level] ?? 'info']({ ...meta }, message);
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}

/** What {@link installRuntime} installed (or found installed by an earlier call in this process). */
export interface InstalledRuntime {
  /** The JSON logger the Runtime forwards into; the worker may log through it too. */
  logger: Logger;
  /** Where Temporal's worker metrics are served (`http://host:port/metrics`), when configured. */
  metricsUrl?: string;
}

let installed: InstalledRuntime | undefined;

/** Options of {@link installRuntime}. */
export interface InstallRuntimeOptions extends Partial<Pick<LoggerOptions, 'stream' | 'redactor'>> {
  /** The log level (default config.telemetry.logLevel). `driftplane dev` passes `warn` unless DRIFTPLANE_LOG_LEVEL is set. */
  level?: LogLevelName;
}

/**
 * Installs the Temporal Runtime, once per process and before any Worker or NativeConnection exists:
 * Core's logs forwarded (at INFO or above) with the SDK's into one JSON logger on stderr, and
 * Temporal's metrics served for Prometheus on `config.telemetry.workerMetricsAddress` when set. A
 * second call returns what the first installed. Throws the SDK's IllegalStateError when something
 * else installed (or instantiated) the Runtime first.
 */
export function installRuntime(config: Config, opts: InstallRuntimeOptions = {}): InstalledRuntime {
  if (installed) return installed;
  const level = opts.level ?? config.telemetry.logLevel;
  const logger = createLogger({
    level,
    base: { component: 'worker' },
    ...(opts.stream ? { stream: opts.stream } : {}),
    ...(opts.redactor ? { redactor: opts.redactor } : {}),
  });
  const address = config.telemetry.workerMetricsAddress;
  Runtime.install({
    logger: new PinoTemporalLogger(logger),
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: coreLevel(level), other: 'ERROR' }), forward: {} },
      ...(address ? { metrics: { prometheus: { bindAddress: address } } } : {}),
    },
  });
  installed = { logger, ...(address ? { metricsUrl: `http://${address}/metrics` } : {}) };
  return installed;
}

/**
 * OpenTelemetry's active context over AsyncLocalStorage (what @opentelemetry/context-async-hooks
 * provides, without the dependency): the activity interceptor runs its span inside the context it
 * read from the workflow's headers, which only a real context manager carries across awaits.
 */
export class AsyncLocalContextManager implements otel.ContextManager {
  private readonly storage = new AsyncLocalStorage<otel.Context>();
  active(): otel.Context {
    return this.storage.getStore() ?? otel.ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: otel.Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.storage.run(context, () => fn.call(thisArg, ...args));
  }
  bind<T>(context: otel.Context, target: T): T {
    if (typeof target !== 'function') return target;
    const fn = target as unknown as (...args: unknown[]) => unknown;
    const run = <R>(f: () => R): R => this.with(context, f);
    return function (this: unknown, ...args: unknown[]) {
      return run(() => fn.apply(this, args));
    } as unknown as T;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}

/** The span processor and resource of a tracing setup (tests pass an exporter of their own). */
export interface TracingOptions {
  /** Where spans go (default: OTLP/HTTP to config.telemetry.otlpTracesEndpoint). */
  exporter?: SpanExporter;
}

/** The workflow interceptor module of @temporalio/interceptors-opentelemetry (bundled with the workflows when tracing is on). */
export const TRACING_WORKFLOW_MODULES: readonly string[] = [
  require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
];

/** What a traced worker adds to its options. */
export interface WorkerTracing {
  /** Activity interceptors (spans `RunActivity:<type>`, parented by the workflow's `StartActivity:<type>`) and the workflow module. */
  interceptors: { activity: ActivityInterceptorsFactory[]; workflowModules: string[] };
  /** The `exporter` sink the workflow interceptors send their spans through. */
  sinks: InjectedSinks<OpenTelemetrySinks>;
  /** Flushes spans still buffered and stops exporting (after the worker stopped). */
  shutdown(): Promise<void>;
}

/**
 * OpenTelemetry tracing of the worker when `config.telemetry.otlpTracesEndpoint` is set (or an
 * exporter is given); undefined otherwise: no interceptors, no exporter, nothing global touched.
 * Registers the tracer provider globally, with W3C trace-context propagation and an
 * AsyncLocalStorage context manager (the activity interceptor reads the workflow's span from the
 * activity's headers and runs inside it); `shutdown()` flushes and unregisters them.
 */
export function tracingFor(config: Config, opts: TracingOptions = {}): WorkerTracing | undefined {
  const endpoint = config.telemetry.otlpTracesEndpoint;
  if (!endpoint && !opts.exporter) return undefined;
  const resource = new Resource({ 'service.name': config.telemetry.serviceName });
  const processor = new BatchSpanProcessor(
    opts.exporter ?? new OTLPTraceExporter({ url: endpoint as string }),
    { scheduledDelayMillis: 1000 },
  );
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  provider.register({ contextManager: new AsyncLocalContextManager() });
  const tracer = provider.getTracer('driftplane-worker');
  return {
    interceptors: {
      activity: [
        (ctx) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer }),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
      workflowModules: [...TRACING_WORKFLOW_MODULES],
    },
    sinks: { exporter: makeWorkflowExporter(processor, resource) },
    shutdown: async () => {
      await provider.shutdown();
      otel.trace.disable();
      otel.propagation.disable();
      otel.context.disable();
    },
  };
}
