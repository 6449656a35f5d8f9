// OpenTelemetry traces: the one module that knows the SDK. Off unless an OTLP endpoint is configured
// (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT); then spans for the gateway's
// requests, each subgraph call (W3C traceparent injected), each subgraph's request, PostgreSQL
// statements, audit appends and EHR calls are exported over OTLP/HTTP. Off, every helper here is one
// boolean test and a direct call.
//
// What spans carry: component and subgraph names, operation names and types, statement kinds and
// table names, connection ids, FHIR resource types, counts and error codes. Never a document's text,
// variables, SQL parameters, ids of patients or any value read from patient data (README, "Traces").
import {
  context,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type ContextManager,
  type Link,
  type Span,
  type SpanContext,
  type SpanOptions,
  type Tracer,
  type TracerProvider as ApiTracerProvider,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';
import { logger } from './log.ts';

export type { SpanExporter };

export type TracingConfig = {
  /** service.name of every span (OTEL_SERVICE_NAME). */
  readonly serviceName: string;
  /** Where spans go: an OTLP/HTTP traces URL (with optional headers), or an exporter of one's own (tests). */
  readonly exporter: { readonly url: string; readonly headers?: Readonly<Record<string, string>> } | SpanExporter;
  /** Share of new traces recorded (0 to 1); a request that arrives with a trusted parent follows the parent's decision. */
  readonly sampleRatio: number;
  /**
   * Whether a client's traceparent may parent the gateway's request span. Default false: the gateway
   * starts a trace of its own and keeps the client's as a span link (a client cannot pick trace ids
   * or force sampling). Subgraphs always continue the gateway's trace, after its identity is checked.
   */
  readonly trustClientTraceparent: boolean;
  /** Export each span as it ends rather than in batches (tests; a batch waits up to 5 s). */
  readonly exportEachSpan?: boolean;
};

export type Tracing = {
  readonly config: TracingConfig;
  /** Exports what is buffered. */
  flush(): Promise<void>;
  /** Exports what is buffered and turns tracing off. */
  shutdown(): Promise<void>;
};

const log = logger('tracing');
const TRUE = /^(1|true|yes|on)$/i;
const FALSE = /^(0|false|no|off)?$/i;

/**
 * The tracing settings of the environment, checked; undefined (tracing off) when no OTLP endpoint
 * is set, when OTEL_TRACES_EXPORTER is `none` or when OTEL_SDK_DISABLED is true.
 */
export function tracingConfigFromEnv(defaultServiceName: string, env: NodeJS.ProcessEnv = process.env): TracingConfig | undefined {
  if (TRUE.test(env.OTEL_SDK_DISABLED ?? '')) return undefined;
  const exporterKind = env.OTEL_TRACES_EXPORTER?.trim() ?? '';
  if (exporterKind === 'none') return undefined;
  if (exporterKind !== '' && exporterKind !== 'otlp') throw new Error('OTEL_TRACES_EXPORTER must be otlp or none');
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL;
  if (protocol && protocol !== 'http/json')
    throw new Error('OTEL_EXPORTER_OTLP_PROTOCOL: traces are sent as OTLP/HTTP JSON (http/json); a collector takes it on port 4318');
  const specific = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const general = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  // As the OTLP specification says: the signal's own endpoint is used as it is, the general one gets /v1/traces.
  const url = specific || (general ? `${general.replace(/\/+$/, '')}/v1/traces` : undefined);
  if (!url) return undefined;
  const name = specific ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${name} must be an http(s) URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`${name} must be an http(s) URL`);
  if (parsed.username || parsed.password) throw new Error(`${name} must not carry credentials: use OTEL_EXPORTER_OTLP_HEADERS`);
  return {
    serviceName: env.OTEL_SERVICE_NAME?.trim() || defaultServiceName,
    exporter: { url: parsed.href },
    sampleRatio: samplingRatio(env),
    trustClientTraceparent: flag(env, 'TRACING_TRUST_CLIENT_TRACEPARENT'),
  };
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const text = env[name] ?? '';
  if (TRUE.test(text)) return true;
  if (FALSE.test(text)) return false;
  throw new Error(`${name} must be true or false`);
}

/** Parent-based always: OTEL_TRACES_SAMPLER names how new traces are sampled, OTEL_TRACES_SAMPLER_ARG the ratio. */
function samplingRatio(env: NodeJS.ProcessEnv): number {
  const sampler = env.OTEL_TRACES_SAMPLER?.trim() || 'parentbased_traceidratio';
  const arg = env.OTEL_TRACES_SAMPLER_ARG?.trim() ?? '';
  if (sampler === 'parentbased_always_on') return 1;
  if (sampler === 'parentbased_always_off') return 0;
  if (sampler !== 'parentbased_traceidratio')
    throw new Error('OTEL_TRACES_SAMPLER must be parentbased_traceidratio, parentbased_always_on or parentbased_always_off');
  if (arg === '') return 1;
  const ratio = Number(arg);
  if (!/^\d*\.?\d+$/.test(arg) || !(ratio >= 0 && ratio <= 1)) throw new Error('OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1');
  return ratio;
}

// ---------------------------------------------------------------------------------------------
// The global provider. @apollo/gateway takes its tracer from the global API once, when it is
// loaded (through its own nested copy of @opentelemetry/api, which reads the same global): a
// provider registered later would never reach it. So one provider of ours is registered when this
// module loads (gateway/server.ts imports it before @apollo/gateway), for the life of the process,
// and hands each span to whichever SDK provider createTracing installed, or to a no-op one.

const NOOP_TRACER = new ProxyTracerProvider().getTracer('noop');

type Active = {
  readonly provider: TracerProvider;
  readonly tracer: Tracer;
  readonly config: TracingConfig;
  readonly generation: number;
};
let active: Active | undefined;
let generation = 0;

class SwitchingTracer implements Tracer {
  #tracer: Tracer = NOOP_TRACER;
  #generation = -1;
  readonly #name: string;
  readonly #version: string | undefined;
  constructor(name: string, version?: string) {
    this.#name = name;
    this.#version = version;
  }
  #current(): Tracer {
    if (this.#generation !== generation) {
      this.#tracer = active ? active.provider.getTracer(this.#name, this.#version) : NOOP_TRACER;
      this.#generation = generation;
    }
    return this.#tracer;
  }
  startSpan(name: string, options?: SpanOptions, ctx?: Context): Span {
    return this.#current().startSpan(name, options, ctx);
  }
  startActiveSpan: Tracer['startActiveSpan'] = (...args: unknown[]) => {
    const tracer = this.#current();
    return Reflect.apply(tracer.startActiveSpan, tracer, args) as never;
  };
}

const globalProvider: ApiTracerProvider = { getTracer: (name, version) => new SwitchingTracer(name, version) };
// Loaded before this module, @apollo/gateway holds a tracer that stays a no-op: said once tracing is turned on.
const apolloLoadedFirst = Object.keys(createRequire(import.meta.url).cache).some((path) =>
  path.endsWith(join('@apollo', 'gateway', 'dist', 'utilities', 'opentelemetry.js')),
);
/** False when something else (an OpenTelemetry agent loaded with --import) registered a global provider first. */
const registeredGlobally = trace.setGlobalTracerProvider(globalProvider);

/** Async context for spans: AsyncLocalStorage (what @opentelemetry/context-async-hooks does, in a few lines). */
class AsyncLocalContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A) {
    return this.#storage.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const run = (...args: unknown[]): unknown => this.with(ctx, () => (target as (...a: unknown[]) => unknown)(...args));
    return run as T;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.#storage.disable();
    return this;
  }
}

const propagator = new W3CTraceContextPropagator();

/**
 * Turns tracing on with this configuration (one at a time per process). Spans are exported in
 * batches; shutdown() exports the rest. Off again after shutdown().
 */
export function createTracing(config: TracingConfig): Tracing {
  if (active) throw new Error('tracing is already on in this process');
  if (!(config.sampleRatio >= 0 && config.sampleRatio <= 1)) throw new Error('sampleRatio must be from 0 to 1');
  const exporter =
    'export' in config.exporter ? config.exporter : new OTLPTraceExporter({ ...config.exporter, headers: { ...config.exporter.headers } });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) }),
    spanProcessors: [config.exportEachSpan ? new SimpleSpanProcessor({ exporter }) : new BatchSpanProcessor({ exporter })],
    // A span has a handful of short attributes; a runaway value is cut rather than exported whole.
    spanLimits: { attributeValueLengthLimit: 256 },
  });
  const manager = new AsyncLocalContextManager();
  if (!context.setGlobalContextManager(manager)) log.warn('tracing_context_manager_taken', {});
  if (!registeredGlobally) log.warn('tracing_global_provider_taken', { note: 'spans of @apollo/gateway go to the other provider' });
  if (apolloLoadedFirst) log.warn('tracing_loaded_after_apollo_gateway', { note: 'import platform/tracing.ts first for its spans' });
  generation++;
  const mine: Active = { provider, tracer: provider.getTracer('patient-gateway'), config, generation };
  active = mine;
  log.info('tracing_on', { service: config.serviceName, sampleRatio: config.sampleRatio });
  return {
    config,
    flush: () => provider.forceFlush(),
    async shutdown() {
      if (active !== mine) return;
      active = undefined;
      generation++;
      context.disable();
      manager.disable();
      await provider.shutdown();
    },
  };
}

/** Tracing from the environment (tracingConfigFromEnv); undefined when it is off. */
export const tracingFromEnv = (defaultServiceName: string, env: NodeJS.ProcessEnv = process.env): Tracing | undefined => {
  const config = tracingConfigFromEnv(defaultServiceName, env);
  return config ? createTracing(config) : undefined;
};

export const tracingOn = (): boolean => active !== undefined;

// ---------------------------------------------------------------------------------------------
// Helpers for the rest of the product. Each is a direct call when tracing is off.

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A span context as a W3C traceparent header value. */
export const traceparentOf = (sc: SpanContext): string =>
  `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;

/** The trace id of a W3C traceparent (what an audit row's traceparent leads to), or undefined when it is not one. */
export const traceIdOf = (traceparent: string | null | undefined): string | undefined => TRACEPARENT.exec(traceparent ?? '')?.[1];

/** Only our vocabulary reaches a span: a code (an EHR failure, ProductError, SQLSTATE) or the error's class name, never a message. */
function errorType(error: unknown): string {
  const e = error as { code?: unknown; failure?: unknown; extensions?: { code?: unknown }; name?: unknown } | null;
  for (const v of [e?.extensions?.code, e?.failure, e?.code, e?.name])
    if (typeof v === 'string' && /^[A-Za-z0-9_.-]{1,60}$/.test(v)) return v;
  return 'unknown';
}

/** Runs fn in a new span, child of the active one; the span ends when fn settles and records failure by error code only. */
async function inSpan<T>(tracer: Tracer, name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  const parent = context.active();
  // Inside a trace that is not recorded (sampled out), a child would not be either: its parent's context propagates as well.
  const current = trace.getSpan(parent);
  if (current && !current.isRecording()) return fn(current);
  const span = tracer.startSpan(name, options, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (error) {
    span.setStatus({ code: SpanStatusCode.ERROR });
    span.setAttribute('error.type', errorType(error));
    throw error;
  } finally {
    span.end();
  }
}

/** An HTTP request's server span (platform/graphql-http.ts), with the context its work runs in. */
export type RequestTrace = { readonly span: Span; readonly context: Context; readonly traceparent: string };

/**
 * Where a request's traceparent may come from: `gateway` (a subgraph's request, once the gateway's
 * identity was verified: always continued), `client` (the gateway's: continued only when
 * configured, else linked), `untrusted` (refused requests: neither).
 */
export const TRACE_PARENT = { gateway: 'gateway', client: 'client', untrusted: 'untrusted' } as const;
export type TraceParentTrust = (typeof TRACE_PARENT)[keyof typeof TRACE_PARENT];

const headerGetter = {
  keys: (h: IncomingHttpHeaders) => Object.keys(h),
  get: (h: IncomingHttpHeaders, key: string) => h[key],
};

/** Starts the server span of an HTTP request that began at `startTime` (performance.now()); undefined when tracing is off. */
export function startRequestSpan(
  component: string,
  headers: IncomingHttpHeaders,
  trust: TraceParentTrust,
  startTime: number,
): RequestTrace | undefined {
  if (!active) return undefined;
  const incoming =
    trust === TRACE_PARENT.untrusted ? undefined : trace.getSpanContext(propagator.extract(ROOT_CONTEXT, headers, headerGetter));
  const continued = incoming !== undefined && (trust === TRACE_PARENT.gateway || active.config.trustClientTraceparent);
  const parent = continued ? trace.setSpanContext(ROOT_CONTEXT, incoming) : ROOT_CONTEXT;
  const links: Link[] = incoming && !continued ? [{ context: incoming }] : [];
  const span = active.tracer.startSpan(
    'POST /graphql',
    {
      kind: SpanKind.SERVER,
      startTime,
      links,
      attributes: { 'pgw.component': component, 'http.request.method': 'POST', 'url.path': '/graphql' },
    },
    parent,
  );
  return { span, context: trace.setSpan(parent, span), traceparent: traceparentOf(span.spanContext()) };
}

/** Runs fn inside the request's span (its subgraph calls and statements become its children). */
export const inRequestSpan = <T>(request: RequestTrace | undefined, fn: () => T): T => (request ? context.with(request.context, fn) : fn());

const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,99}$/;

/** Ends a request's span with what is known once it was answered: operation, HTTP status, error codes. */
export function endRequestSpan(
  request: RequestTrace | undefined,
  outcome: {
    readonly status: number;
    readonly operationName: string | null;
    readonly operationType?: string | undefined;
    readonly errorCodes: readonly unknown[];
  },
): void {
  if (!request) return;
  const { span } = request;
  const attributes: Attributes = { 'http.response.status_code': outcome.status };
  if (outcome.operationName && GRAPHQL_NAME.test(outcome.operationName)) attributes['graphql.operation.name'] = outcome.operationName;
  if (outcome.operationType) attributes['graphql.operation.type'] = outcome.operationType;
  const codes = [...new Set(outcome.errorCodes.filter((c): c is string => typeof c === 'string' && /^[A-Z_]{1,60}$/.test(c)))];
  if (codes.length > 0) attributes['pgw.error.codes'] = codes.slice(0, 10);
  span.setAttributes(attributes);
  if (outcome.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

/** A gateway's call to a subgraph: a client span, active while the call is made (outgoingTraceHeaders reads it). */
export function traceSubgraphCall<T>(subgraph: string, call: () => Promise<T>): Promise<T> {
  if (!active) return call();
  return inSpan(active.tracer, `subgraph ${subgraph}`, { kind: SpanKind.CLIENT, attributes: { 'pgw.subgraph': subgraph } }, call);
}

/**
 * The trace headers of an outgoing subgraph call: the active span's context (traceparent and
 * tracestate) when tracing is on, else the client's traceparent as received (when well-formed).
 */
export function outgoingTraceHeaders(clientTraceparent?: string | null): Record<string, string> {
  if (active) {
    const carrier: Record<string, string> = {};
    propagator.inject(context.active(), carrier, { set: (c, k, v) => (c[k] = v) });
    if (carrier.traceparent) return carrier;
  }
  return clientTraceparent && TRACEPARENT.test(clientTraceparent) ? { traceparent: clientTraceparent } : {};
}

/**
 * What a statement is, for its span: its kind (SELECT, INSERT...) and the first table it names,
 * never its parameters. Statements here take values as parameters; the text is still not exported.
 */
export function statementSummary(text: string): { operation: string; table: string | undefined } {
  const operation = /^\s*(?:\(\s*)*([A-Za-z]+)/.exec(text)?.[1]?.toUpperCase() ?? 'SQL';
  const table =
    /\b(?:FROM|INTO|UPDATE|JOIN|TABLE)\s+(?:ONLY\s+|IF\s+(?:NOT\s+)?EXISTS\s+)?"?([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)?)"?/i.exec(
      text,
    )?.[1];
  return { operation, table: table?.toLowerCase() };
}

// The product's statements are a few hundred constant texts: each is summarized once.
const summaries = new Map<string, ReturnType<typeof statementSummary>>();
function summaryOf(text: string): ReturnType<typeof statementSummary> {
  let summary = summaries.get(text);
  if (!summary) {
    summary = statementSummary(text);
    if (summaries.size >= 2000) summaries.clear();
    summaries.set(text, summary);
  }
  return summary;
}

/**
 * A PostgreSQL statement's span, child of the active one. Statements outside any traced work
 * (schedulers, checkpoints, migrations) make no spans of their own.
 */
export function traceStatement<T>(schema: string, text: string, prepared: string | undefined, run: () => Promise<T>): Promise<T> {
  if (!active || trace.getSpan(context.active()) === undefined) return run();
  const { operation, table } = summaryOf(text);
  const attributes: Attributes = { 'db.system.name': 'postgresql', 'db.namespace': schema, 'db.operation.name': operation };
  if (table) attributes['db.collection.name'] = table;
  if (prepared) attributes['db.query.summary'] = prepared;
  return inSpan(active.tracer, table ? `${operation} ${table}` : operation, { kind: SpanKind.CLIENT, attributes }, run);
}

/** A transaction's span: its statements are its children. */
export function traceTransaction<T>(schema: string, run: () => Promise<T>): Promise<T> {
  if (!active || trace.getSpan(context.active()) === undefined) return run();
  return inSpan(
    active.tracer,
    'transaction',
    { kind: SpanKind.CLIENT, attributes: { 'db.system.name': 'postgresql', 'db.namespace': schema, 'db.operation.name': 'TRANSACTION' } },
    run,
  );
}

/** A request's audit rows appended and committed (orchestration/audit/audit-log.ts): how many, and how long until durable. */
export function traceAuditAppend<T>(subgraph: string, rows: number, run: () => Promise<T>): Promise<T> {
  if (!active) return run();
  return inSpan(active.tracer, 'audit append', { attributes: { 'pgw.subgraph': subgraph, 'pgw.audit.rows': rows } }, run);
}

/**
 * Background work as a trace of its own (an initial load, a sync cycle): a root span, never the
 * child of whatever was active when it was scheduled. Its EHR calls and statements are its children.
 */
export function traceJob<T>(name: string, attributes: Attributes, run: () => Promise<T>): Promise<T> {
  if (!active) return run();
  const tracer = active.tracer;
  return context.with(ROOT_CONTEXT, () => inSpan(tracer, name, { attributes }, run));
}

/**
 * One call to an EHR (protocol/fhir/client.ts): its connection id, the FHIR resource type and the
 * outcome (`ok` or the failure code). A root span when nothing traced is active (sync, the initial load).
 */
export function traceEhrCall<T>(connection: string, resourceType: string, run: () => Promise<T>): Promise<T> {
  if (!active) return run();
  const type = /^[A-Z][A-Za-z]{1,63}$/.test(resourceType) ? resourceType : 'other';
  const attributes: Attributes = { 'pgw.connection': connection, 'fhir.resource_type': type };
  return inSpan(active.tracer, `FHIR ${type}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      const result = await run();
      span.setAttribute('pgw.outcome', 'ok');
      return result;
    } catch (error) {
      span.setAttribute('pgw.outcome', errorType(error));
      throw error;
    }
  });
}
