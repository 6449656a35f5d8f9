// autocannon 9 ships no types: the few options and result fields this benchmark uses, typed
// here, loaded through createRequire (it is CommonJS).
import { createRequire } from 'node:module';

export type Histogram = {
  readonly average: number;
  readonly mean: number;
  readonly stddev: number;
  readonly min: number;
  readonly max: number;
  readonly total: number;
  readonly p50: number;
  readonly p90: number;
  readonly p97_5: number;
  readonly p99: number;
};

export type AutocannonResult = {
  readonly requests: Histogram;
  readonly latency: Histogram;
  readonly duration: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly mismatches: number;
  readonly non2xx: number;
  readonly '2xx': number;
  readonly statusCodeStats: Readonly<Record<string, { readonly count: number }>>;
};

export type AutocannonRequest = {
  readonly method?: string;
  readonly path?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Called with every response to this request (the body as a string). */
  readonly onResponse?: (status: number, body: string) => void;
};

export type AutocannonClient = { setRequests(requests: AutocannonRequest[]): void };

export type AutocannonOptions = {
  readonly url: string;
  readonly connections: number;
  readonly duration: number;
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly requests?: AutocannonRequest[];
  readonly setupClient?: (client: AutocannonClient) => void;
  /** A falsy result counts the response in `mismatches`. */
  readonly verifyBody?: (body: string) => boolean;
  /** Seconds before a request counts as a timeout. */
  readonly timeout?: number;
};

type Instance = { stop(): void };
type Autocannon = (options: AutocannonOptions, done: (error: Error | null, result: AutocannonResult) => void) => Instance;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

let current: Instance | undefined;

/** Runs one load test to completion. */
export function runLoad(options: AutocannonOptions): Promise<AutocannonResult> {
  return new Promise((resolve, reject) => {
    current = autocannon(options, (error, result) => {
      current = undefined;
      if (error) reject(error);
      else resolve(result);
    });
  });
}

/** Stops the load test in progress, if any (SIGINT). */
export function stopLoad(): void {
  current?.stop();
}
