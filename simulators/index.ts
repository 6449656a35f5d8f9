// EHR simulators: the project's stand-ins for Epic and Oracle Health (Cerner). See README.md here.
import { generatePopulation, truthToCsv, type Population, type PopulationOptions } from './population/generate.ts';
import { startFhirSimulator, type FhirSimulator, type SimulatorClient } from './fhir/server.ts';
import type { Vendor } from './vendors/shape.ts';

export { generatePopulation, truthToCsv, startFhirSimulator };
export type { Population, PopulationOptions, FhirSimulator, SimulatorClient, Vendor };
export type { SiteData, TruthRow, Discrepancy } from './population/generate.ts';

export type SimulatorsOptions = {
  readonly seed: number;
  readonly size: number;
  readonly overlapShare?: number;
  readonly sites: readonly { readonly id: string; readonly vendor: Vendor; readonly port?: number }[];
  readonly clients: readonly SimulatorClient[];
  readonly host?: string;
  readonly tokenTtlSeconds?: number;
  /** Serve only these sites (the population is still generated for all, so it is the same everywhere). */
  readonly serveOnly?: readonly string[];
};

export type RunningSimulators = { readonly population: Population; readonly servers: Readonly<Record<string, FhirSimulator>>; close(): Promise<void> };

/** Generates the population once and starts one FHIR server per site. */
export async function startSimulators(options: SimulatorsOptions): Promise<RunningSimulators> {
  const population = generatePopulation({ seed: options.seed, size: options.size, overlapShare: options.overlapShare, sites: options.sites });
  const servers: Record<string, FhirSimulator> = {};
  try {
    for (const site of options.sites.filter((s) => !options.serveOnly || options.serveOnly.includes(s.id))) {
      servers[site.id] = await startFhirSimulator({ siteId: site.id, vendor: site.vendor, data: population.sites[site.id]!, port: site.port ?? 0, host: options.host, clients: options.clients, tokenTtlSeconds: options.tokenTtlSeconds });
    }
  } catch (error) {
    await Promise.all(Object.values(servers).map((s) => s.close()));
    throw error;
  }
  return { population, servers, close: async () => void (await Promise.all(Object.values(servers).map((s) => s.close()))) };
}
