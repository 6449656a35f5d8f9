// A FHIR R4 REST client for one connection: fhir-kit-client for the HTTP and Bundle paging,
// SMART Backend Services for the bearer token, a deadline per search (all pages included),
// and one retry after a 401 with a fresh token (tokens can be revoked before they expire). With a
// Resilience (resilience.ts), every call goes through its rate limit, breaker and retry budget.
import { Client } from 'fhir-kit-client';
import { SOURCE_FAILURE, SourceError, toSourceError } from '../errors.ts';
import type { TokenProvider } from '../smart/backend-services.ts';
import type { Resilience } from './resilience.ts';
import { traceEhrCall } from '../../platform/tracing.ts';

export type FhirResource = { readonly resourceType: string; readonly id?: string; readonly [key: string]: unknown };
type Bundle = FhirResource & { total?: number; entry?: { resource?: FhirResource }[]; link?: { relation: string; url: string }[] };

/** What to do when a search has more pages than `maxPages`. */
export const ON_OVERFLOW = {
  /** Stop as soon as the bound is known to be exceeded (the first page's `total` tells, else the last page read). */
  stop: 'stop',
  /** Return the first `maxPages` pages; also what was read when the deadline passes after the first page. */
  truncate: 'truncate',
} as const;
export type OnOverflow = (typeof ON_OVERFLOW)[keyof typeof ON_OVERFLOW];

export type SearchOptions = {
  /** The most pages read (default: the connection's maxPages). */
  readonly maxPages?: number;
  /** Default `stop`. */
  readonly onOverflow?: OnOverflow;
  /** A deadline shared with other searches (default: the connection's timeoutMs from now). */
  readonly signal?: AbortSignal;
};

export type SearchResult = {
  readonly resources: FhirResource[];
  /** Every page was read. */
  readonly complete: boolean;
  /** Why reading stopped early: the page bound, or the deadline (truncate only). */
  readonly stoppedBy?: 'pages' | 'deadline';
  /** Bundle.total of the first page, when the source reports it. */
  readonly total?: number;
};

export type FhirConnection = {
  readonly source: string;
  /** The connection's bound on the pages of one search. */
  readonly maxPages: number;
  /**
   * The resources matching a search, following `next` links under one deadline; up to maxPages
   * pages, then incomplete (see ON_OVERFLOW). Failures are SourceErrors.
   */
  searchAll(resourceType: string, params: Readonly<Record<string, string>>, options?: SearchOptions): Promise<SearchResult>;
  /** Pages one by one, for loads too large to hold in memory (no page bound; a deadline per page). */
  searchPages(resourceType: string, params: Readonly<Record<string, string>>): AsyncGenerator<FhirResource[]>;
  /** The resource types the server's CapabilityStatement (`<base>/metadata`) says it searches. Failures are SourceErrors. */
  searchableTypes(): Promise<ReadonlySet<string>>;
  /** What the server says it is (CapabilityStatement fhirVersion and software). Failures are SourceErrors. */
  serverInfo(): Promise<ServerInfo>;
  /** The connection's breaker, when it has resilience. */
  readonly resilience?: Resilience;
};

/** CapabilityStatement.fhirVersion and software; null when the server does not say. */
export type ServerInfo = {
  readonly fhirVersion: string | null;
  readonly softwareName: string | null;
  readonly softwareVersion: string | null;
};

type CapabilityStatement = {
  resourceType?: string;
  fhirVersion?: unknown;
  software?: { name?: unknown; version?: unknown };
  rest?: { mode?: string; resource?: { type?: string; interaction?: { code?: string }[] }[] }[];
};

/** The types a CapabilityStatement's server-mode `rest` entries offer `search-type` on. */
export function searchableTypesOf(cs: CapabilityStatement): ReadonlySet<string> {
  return new Set(
    (cs.rest ?? [])
      .filter((r) => r.mode === undefined || r.mode === 'server')
      .flatMap((r) => r.resource ?? [])
      .filter((r) => typeof r.type === 'string' && (r.interaction ?? []).some((i) => i.code === 'search-type'))
      .map((r) => r.type!),
  );
}

const textOrNull = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);

/** The version facts of a CapabilityStatement. */
export const serverInfoOf = (cs: CapabilityStatement): ServerInfo => ({
  fhirVersion: textOrNull(cs.fhirVersion),
  softwareName: textOrNull(cs.software?.name),
  softwareVersion: textOrNull(cs.software?.version),
});

export type FhirConnectionOptions = {
  readonly source: string;
  readonly baseUrl: string;
  readonly tokens: TokenProvider;
  readonly timeoutMs: number;
  /** Pages one search reads at most (default 50: 10,000 resources at 200 a page). */
  readonly maxPages?: number;
  /** Rate limit, circuit breaker and retry budget toward this EHR (absent: calls go out as they come). */
  readonly resilience?: Resilience;
};

export const DEFAULT_MAX_PAGES = 50;

export function fhirConnection(options: FhirConnectionOptions): FhirConnection {
  const client = new Client({
    baseUrl: options.baseUrl,
    // Signed per request so a refreshed token is always the one sent.
    requestSigner: async (_url: string, init: RequestInit) => {
      (init.headers as Headers).set('authorization', `Bearer ${await options.tokens.getToken()}`);
    },
  });

  /** Runs one FHIR call (traced: connection, resource type, outcome); on 401 refreshes the token once. */
  const call = (resourceType: string, run: (signal: AbortSignal) => Promise<unknown>, deadline: AbortSignal): Promise<Bundle> =>
    traceEhrCall(options.source, resourceType, () => untracedCall(run, deadline));
  const untracedCall = async (run: (signal: AbortSignal) => Promise<unknown>, deadline: AbortSignal): Promise<Bundle> => {
    const guarded = options.resilience
      ? (signal: AbortSignal) =>
          options.resilience!.run(
            () => run(signal),
            (e) => toSourceError(options.source, e, options.timeoutMs),
            signal,
          )
      : run;
    for (let attempt = 0; ; attempt++) {
      try {
        const bundle = (await guarded(deadline)) as Bundle;
        if (bundle?.resourceType !== 'Bundle')
          throw new SourceError(
            options.source,
            SOURCE_FAILURE.invalidResponse,
            `expected a Bundle, got ${bundle?.resourceType ?? 'nothing'}`,
          );
        return bundle;
      } catch (error) {
        const failure = toSourceError(options.source, error, options.timeoutMs);
        if (failure.httpStatus === 401 && attempt === 0) {
          options.tokens.invalidate();
          continue;
        }
        throw failure;
      }
    }
  };

  /** The first page of a search, then each `next` page; `deadline` gives the abort signal for each call. */
  async function* bundles(
    resourceType: string,
    params: Readonly<Record<string, string>>,
    deadline: () => AbortSignal,
  ): AsyncGenerator<Bundle> {
    let bundle = await call(
      resourceType,
      (signal) => client.search({ resourceType, searchParams: { ...params }, options: { signal } }),
      deadline(),
    );
    for (;;) {
      yield bundle;
      if (!bundle.link?.some((l) => l.relation === 'next')) return;
      const current = bundle;
      bundle = await call(
        resourceType,
        (signal) => client.nextPage({ bundle: current as never, options: { signal } }) as Promise<unknown>,
        deadline(),
      );
    }
  }

  const entries = (bundle: Bundle): FhirResource[] => (bundle.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
  const hasNext = (bundle: Bundle): boolean => bundle.link?.some((l) => l.relation === 'next') === true;
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;

  return {
    source: options.source,
    maxPages,
    async searchAll(resourceType, params, opts = {}) {
      const signal = opts.signal ?? AbortSignal.timeout(options.timeoutMs);
      const bound = opts.maxPages ?? maxPages;
      const truncate = opts.onOverflow === ON_OVERFLOW.truncate;
      const resources: FhirResource[] = [];
      let total: number | undefined;
      let pages = 0;
      const stopped = (stoppedBy: 'pages' | 'deadline'): SearchResult => ({ resources, complete: false, stoppedBy, total });
      try {
        for await (const bundle of bundles(resourceType, params, () => signal)) {
          const page = entries(bundle);
          if (pages === 0 && typeof bundle.total === 'number') total = bundle.total;
          pages++;
          resources.push(...page);
          if (!hasNext(bundle)) return { resources, complete: true, total };
          if (pages >= bound) return stopped('pages');
          // The first page says how many there are: reading on would be wasted.
          if (!truncate && pages === 1 && total !== undefined && page.length > 0 && total > page.length * bound) return stopped('pages');
        }
      } catch (error) {
        // A deadline that passes once something was read: what was read, marked incomplete.
        if (truncate && pages > 0 && error instanceof SourceError && error.failure === SOURCE_FAILURE.timeout) return stopped('deadline');
        throw error;
      }
      return { resources, complete: true, total };
    },
    async *searchPages(resourceType, params) {
      for await (const bundle of bundles(resourceType, params, () => AbortSignal.timeout(options.timeoutMs))) yield entries(bundle);
    },
    async searchableTypes() {
      return searchableTypesOf(await capability());
    },
    async serverInfo() {
      return serverInfoOf(await capability());
    },
    ...(options.resilience ? { resilience: options.resilience } : {}),
  };

  // Not rate-limited or broken: it is how the EHR's health and version are checked.
  async function capability(): Promise<CapabilityStatement> {
    let cs: CapabilityStatement;
    try {
      cs = (await client.capabilityStatement({ signal: AbortSignal.timeout(options.timeoutMs) })) as CapabilityStatement;
    } catch (error) {
      throw toSourceError(options.source, error, options.timeoutMs);
    }
    if (cs?.resourceType !== 'CapabilityStatement')
      throw new SourceError(
        options.source,
        SOURCE_FAILURE.invalidResponse,
        `expected a CapabilityStatement, got ${cs?.resourceType ?? 'nothing'}`,
      );
    return cs;
  }
}
