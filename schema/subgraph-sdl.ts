// The SDL of every subgraph, assembled from the files beside its resolvers and the canonical
// value types in schema/. Used both to serve a subgraph and to compose the supergraph, so the
// two can never disagree.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AdapterConfig } from '../platform/config.ts';

const read = (relative: string): string => readFileSync(fileURLToPath(new URL(relative, import.meta.url)), 'utf8');

const DEMOGRAPHICS = read('./demographics.graphql');
const CLINICAL = read('./clinical.graphql');
const MPI = read('../subgraphs/mpi/schema.graphql');
const VENDOR_ADAPTER = read('../subgraphs/vendor-adapter/schema.graphql');
const AUDIT = read('../subgraphs/audit/schema.graphql');
const CLINICAL_VIEW = read('../subgraphs/clinical/schema.graphql');
const INTEGRATION = read('../subgraphs/integration/schema.graphql');

/** Placeholder type name in the vendor adapter SDL, replaced by each adapter's record type. */
export const VENDOR_RECORD_PLACEHOLDER = 'VendorRecord';

/** MPI: golden patients plus one key-only stub per vendor adapter (the entity interface pattern). */
export function mpiTypeDefs(adapters: readonly AdapterConfig[]): string {
  const stubs = adapters
    .map(
      (a) =>
        `"A patient record held by a connection of the ${a.name} adapter."\n` +
        `type ${a.recordType} implements SourceRecord @key(fields: "id") {\n  id: ID!\n  source: String!\n  mrn: String\n}`,
    )
    .join('\n\n');
  return [MPI, DEMOGRAPHICS, stubs].join('\n');
}

export function vendorAdapterTypeDefs(adapter: AdapterConfig): string {
  const sdl = VENDOR_ADAPTER.replace(new RegExp(`\\b${VENDOR_RECORD_PLACEHOLDER}\\b`, 'g'), adapter.recordType);
  return [sdl, CLINICAL].join('\n');
}

/** The audit log, for the security role. */
export const auditTypeDefs = (): string => AUDIT;

/** The merged clinical view of golden patients, from the canonical clinical store. */
export const clinicalTypeDefs = (): string => CLINICAL_VIEW;

/** Quarantine, lineage impact and re-processing, for integration engineers (and security). */
export const integrationTypeDefs = (): string => INTEGRATION;
