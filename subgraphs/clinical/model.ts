// The objects the clinical subgraph resolves from (codegen mappers): a golden patient is only its
// active id here (the MPI owns everything else); items are the clinical store's merged items.
export type { MergedItem, MergedPage } from '../../orchestration/clinical-store/store.ts';
export type { Lineage, Transformation } from '../../translation/lineage.ts';
export type { TranslationIssue } from '../../translation/issues.ts';
export type { Coding } from '../../translation/terminology/translate.ts';

/** A golden patient the caller may see, after merge redirects (its survivor's id). */
export type ClinicalPatient = { readonly id: string };
