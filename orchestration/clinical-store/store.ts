// The canonical clinical store (layer 3): migrations, idempotent writes with history, the
// translate-and-store path every ingestion uses, and the merged view of a golden patient.
export { CLINICAL_STORE_MIGRATIONS } from './migrations.ts';
export { storeItems, type StoreReport } from './write.ts';
export { ingestResources, type IngestContext, type IngestReport } from './ingest.ts';
export {
  MAX_PAGE,
  isMergedCursor,
  mergedItems,
  mergedItemsFor,
  type MergedFilter,
  type MergedItem,
  type MergedPage,
  type MergedQuery,
} from './read.ts';
export { conceptMapLineageId, derivedFrom, goldenPatientsTouched, type ImpactPage, type ImpactRow, type ImpactSelector } from './impact.ts';
