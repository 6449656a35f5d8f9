// A FHIR R4 REST client for one connection: fhir-kit-client for the HTTP and Bundle paging,
// SMART Backend Services for the bearer token, a deadline per search (all pages included),
// and one retry after a 401 with a fresh token (tokens can be revoked before they expire).
import { Client } from 'fhir-kit-client';
import { SOURCE_FAILURE, SourceError, toSourceError } from '../errors.ts';
import type { TokenProvider } from '../smart/backend-services.ts';

export type FhirResource = { readonly resourceType: string; readonly id?: string; readonly [key: string]: unknown };
type Bundle = FhirResource & { entry?: { resource?: FhirResource }[]; link?: { relation: string; url: string }[] };

export type FhirConnection = {
  readonly source: string;
  /** Every resource matching the search, following `next` links up to maxPages. */
  searchAll(resourceType: string, params: Readonly<Record<string, string>>, options?: { maxPages?: number }): Promise<FhirResource[]>;
  /** Pages one by one, for loads too large to hold in memory. */
  searchPages(resourceType: string, params: Readonly<Record<string, string>>): AsyncGenerator<FhirResource[]>;
};

export type FhirConnectionOptions = {
  readonly source: string;
  readonly baseUrl: string;
  readonly tokens: TokenProvider;
  readonly timeoutMs: number;
};

const DEFAULT_MAX_PAGES = 50;

export function fhirConnection(options: FhirConnectionOptions): FhirConnection {
  const client = new Client({
    baseUrl: options.baseUrl,
    // Signed per request so a refreshed token is always the one sent.
    requestSigner: async (_url: string, init: RequestInit) => {
      (init.headers as Headers).set('authorization', `Bearer ${await options.tokens.getToken()}`);
    },
  });

  /** Runs one FHIR call; on 401 refreshes the token once. */
  const call = async (run: (signal: AbortSignal) => Promise<unknown>, deadline: AbortSignal): Promise<Bundle> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const bundle = (await run(deadline)) as Bundle;
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

  /**
   * Walks a search page by page. `deadline` gives the abort signal for each call: one shared
   * signal bounds a whole interactive search; a fresh one per page suits long bulk loads.
   */
  async function* pages(
    resourceType: string,
    params: Readonly<Record<string, string>>,
    deadline: () => AbortSignal,
    maxPages: number,
  ): AsyncGenerator<FhirResource[]> {
    let bundle = await call((signal) => client.search({ resourceType, searchParams: { ...params }, options: { signal } }), deadline());
    for (let page = 1; ; page++) {
      yield (bundle.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
      if (!bundle.link?.some((l) => l.relation === 'next')) return;
      if (page >= maxPages)
        throw new SourceError(options.source, SOURCE_FAILURE.invalidResponse, `more than ${maxPages} pages of ${resourceType}`);
      const current = bundle;
      bundle = await call((signal) => client.nextPage({ bundle: current as never, options: { signal } }) as Promise<unknown>, deadline());
    }
  }

  return {
    source: options.source,
    async searchAll(resourceType, params, opts) {
      const shared = AbortSignal.timeout(options.timeoutMs);
      const all: FhirResource[] = [];
      for await (const page of pages(resourceType, params, () => shared, opts?.maxPages ?? DEFAULT_MAX_PAGES)) all.push(...page);
      return all;
    },
    searchPages: (resourceType, params) =>
      pages(resourceType, params, () => AbortSignal.timeout(options.timeoutMs), Number.POSITIVE_INFINITY),
  };
}
