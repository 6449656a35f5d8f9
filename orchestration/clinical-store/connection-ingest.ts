// What one connection's clinical resources are translated with, built once at start from
// configuration: the connection's id and time zone, its vendor profile's known deviations, the
// concept maps (config/concept-maps and the deployment's CONCEPT_MAP_DIRS; the profile's must be
// among them), and the unit rules (config/units.json, UNITS_FILE). The
// initial load and the read-through both take their ItemContext from here, so a resource reads the
// same whichever path brought it.
import type { ConnectionConfig, VendorProfile } from '../../platform/config.ts';
import { loadTerminology, profileTerminology, type Terminology } from '../../translation/terminology/translate.ts';
import { loadUnitRules, type UnitRules } from '../../translation/units.ts';
import type { IngestContext } from './ingest.ts';

/** Rules shared by every connection (files read once); each connection uses its profile's maps of them. */
export type ClinicalRules = { readonly terminology: Terminology; readonly units: UnitRules };

let shared: ClinicalRules | undefined;

/** The configured concept maps and unit rules, read and checked once per process (a bad file stops the start). */
export const clinicalRules = (): ClinicalRules => (shared ??= { terminology: loadTerminology(), units: loadUnitRules() });

export type ConnectionIngest = {
  readonly source: string;
  readonly timeZone: string;
  /** The translation context of resources retrieved at `retrievedAt` (an ISO instant). */
  context(retrievedAt: string, messageId?: string | null): IngestContext;
};

/**
 * One connection's ingest context factory. Of the vendor profile, translation of clinical items
 * reads its `conceptMaps` (a url no loaded map has stops the start) and `numbersAsStrings` (the
 * numbers-as-strings deviation: a quantity's numeric string is read as a number, with lineage). The
 * connection's time zone is already its profile's when it names none (loadConnections). The
 * profile's local coding systems need no setting here: a code no map translates is kept beside the
 * standard ones and flagged, and a standard coding is always preferred as the item's code; its
 * extensions are the Patient's (race, ethnicity, administrative sex), read by the MPI's translation.
 */
export function connectionIngest(
  connection: Pick<ConnectionConfig, 'id' | 'timeZone'>,
  profile: Pick<VendorProfile, 'numbersAsStrings' | 'conceptMaps'>,
  rules: ClinicalRules = clinicalRules(),
): ConnectionIngest {
  const base = {
    source: connection.id,
    timeZone: connection.timeZone,
    terminology: profileTerminology(rules.terminology, profile.conceptMaps),
    units: rules.units,
    numbersAsStrings: profile.numbersAsStrings,
  };
  return {
    source: connection.id,
    timeZone: connection.timeZone,
    context: (retrievedAt, messageId = null) => ({ ...base, retrievedAt, messageId }),
  };
}
