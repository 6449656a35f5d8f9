// EHR simulators: stand-ins for Epic and Oracle Health (Cerner) that speak FHIR R4 over HTTP with
// SMART Backend Services, serving one deterministic synthetic population. See README.md here.
import { generatePopulation, type Population } from './population/generate.ts';
import type { SiteSpec, Vendor } from './population/model.ts';
import { startFhirSimulator, type FhirSimulator, type SimulatorClient } from './fhir/server.ts';
import { withLargeHistory, type LargeHistory } from './population/large-history.ts';
import { generateAppearances } from './population/generate.ts';
import { siteMessages, siteMrn, type Hl7SiteSpec } from './hl7/messages.ts';

export { generatePopulation, generateAppearances, truthToCsv, type Population, type PopulationOptions } from './population/generate.ts';
export { DISCREPANCY, REFERENCE_TIME, VENDORS, type Discrepancy, type SiteSpec, type Vendor } from './population/model.ts';
export { CLINICAL_TYPES, type ClinicalResources, type ClinicalType, type SiteData, type TruthRow } from './site-data.ts';
export {
  DEV_PATH,
  startFhirSimulator,
  VENDOR_PATHS,
  type Fault,
  type FhirSimulator,
  type FhirSimulatorOptions,
  type NewPatient,
  type SimulatorClient,
} from './fhir/server.ts';
export { CERNER, CERNER_CODE_SETS, EPIC, STANDARD, cernerCodeSet } from './vendors/constants.ts';
export { withLargeHistory, type LargeHistory } from './population/large-history.ts';
export { siteMessages, siteMrn, localDtm, type Hl7SiteSpec } from './hl7/messages.ts';
export { createHl7Sender, SenderClosed, type Hl7Sender, type Hl7SenderOptions } from './hl7/sender.ts';

export type SimulatorSite = SiteSpec & { readonly port?: number };

export type SimulatorsOptions = {
  readonly seed: number;
  readonly size: number;
  readonly overlapShare?: number;
  readonly discrepancyShare?: number;
  /** Sites the population is generated for (their order is part of the seed's meaning). */
  readonly sites: readonly SimulatorSite[];
  /** Serve only these site ids (default all). The population is still generated for every site, so
   *  simulators started one per process (compose) serve the same people. */
  readonly serveOnly?: readonly string[];
  readonly clients: readonly SimulatorClient[];
  readonly host?: string;
  readonly tokenTtlSeconds?: number;
  /** Gives the first patient of every site a long history (paging tests); absent = the population as generated. */
  readonly largeHistory?: LargeHistory;
  /** Serve the development-only change endpoints (/_simulator; see fhir/server.ts). */
  readonly devWrites?: boolean;
  /**
   * HL7 v2 sites: part of the population (after the FHIR sites, so their persons overlap them with
   * discrepancies), served as the ADT/ORU messages they send rather than by a FHIR server.
   */
  readonly hl7Sites?: readonly Hl7SiteSpec[];
};

export type RunningSimulators = {
  readonly population: Population;
  readonly servers: Readonly<Record<string, FhirSimulator>>;
  /** Each HL7 site's messages (ER7), in the order it sends them. */
  readonly hl7Traffic: Readonly<Record<string, readonly string[]>>;
  close(): Promise<void>;
};

/** An HL7 site in the population: its people are generated like any site's (the shaper's FHIR is not served). */
const populationSite = (s: Hl7SiteSpec): SiteSpec => ({ id: s.id, vendor: 'epic', timeZone: s.timeZone });

/** Generates the population once and starts one FHIR server per served site. */
export async function startSimulators(options: SimulatorsOptions): Promise<RunningSimulators> {
  const hl7Sites = options.hl7Sites ?? [];
  const sites = options.sites.map((s): SiteSpec => ({ id: s.id, vendor: s.vendor as Vendor }));
  const generation = {
    seed: options.seed,
    size: options.size,
    overlapShare: options.overlapShare,
    discrepancyShare: options.discrepancyShare,
    sites: [...sites, ...hl7Sites.map(populationSite)],
  };
  const generated = generatePopulation(generation);
  const appearances = hl7Sites.length > 0 ? generateAppearances(generation) : [];
  const hl7Traffic = Object.fromEntries(hl7Sites.map((h) => [h.id, siteMessages(appearances, h)]));
  // An HL7 site's record is known by the MRN its messages carry (PID-3), not by the unserved FHIR id.
  const hl7ById = new Map(hl7Sites.map((h) => [h.id, h]));
  const population: Population = {
    sites: Object.fromEntries(Object.entries(generated.sites).filter(([id]) => !hl7ById.has(id))),
    truth: generated.truth.map((t) => {
      const h = hl7ById.get(t.siteId);
      return h ? { ...t, patientId: siteMrn(t, h), mrn: siteMrn(t, h) } : t;
    }),
  };
  const unknown = (options.serveOnly ?? []).filter((id) => !sites.some((s) => s.id === id));
  if (unknown.length > 0) throw new Error(`serveOnly names unknown sites: ${unknown.join(', ')}`);
  const servers: Record<string, FhirSimulator> = {};
  const close = async (): Promise<void> => {
    await Promise.all(Object.values(servers).map((s) => s.close()));
  };
  try {
    for (const site of options.sites) {
      if (options.serveOnly && !options.serveOnly.includes(site.id)) continue;
      servers[site.id] = await startFhirSimulator({
        siteId: site.id,
        vendor: site.vendor,
        data: options.largeHistory ? withLargeHistory(population.sites[site.id]!, options.largeHistory) : population.sites[site.id]!,
        port: site.port ?? 0,
        host: options.host,
        clients: options.clients,
        tokenTtlSeconds: options.tokenTtlSeconds,
        devWrites: options.devWrites,
      });
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { population, servers, hl7Traffic, close };
}
