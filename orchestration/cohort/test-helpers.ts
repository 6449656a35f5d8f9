// Shared by the cohort tests: a database with the MPI, clinical store and cohort indexes, a small
// population of invented people linked through the real MPI, and their clinical items ingested
// through the real clinical store, with traps: the same code in another system, an item withdrawn
// as entered-in-error, an item retired, a value sent in another unit, a patient merged into another.
import assert from 'node:assert/strict';
import type { Database } from '../../platform/db.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import { ingestResources } from '../clinical-store/ingest.ts';
import { CLINICAL_STORE_MIGRATIONS } from '../clinical-store/migrations.ts';
import { retireAbsent } from '../clinical-store/write.ts';
import { CERNER, context, EPIC, observation } from '../clinical-store/test-helpers.ts';
import { linkSourceRecord } from '../mpi/linking.ts';
import { mergePatients, type StewardContext } from '../mpi/stewardship.ts';
import { loadSurvivorshipConfig } from '../mpi/survivorship.ts';
import { openMpiTestDb, person, type MpiTestDb } from '../mpi/test-helpers.ts';
import { QUARANTINE_MIGRATIONS } from '../../translation/quarantine.ts';
import { loadUnitRules } from '../../translation/units.ts';
import { defaultTerminology } from '../../translation/terminology/translate.ts';
import type { CriteriaContext } from './criteria.ts';
import { snomedDescendants } from './descendants.ts';
import { COHORT_MIGRATIONS } from './migrations.ts';

export { CERNER, EPIC };

/** The identified view's criteria context of these tests: both sources, the shipped unit rules and concept maps, a fixed today. */
export const identifiedTestContext = (): CriteriaContext => ({
  deidentified: false,
  sources: new Set([EPIC, CERNER]),
  units: loadUnitRules(),
  descendants: snomedDescendants(defaultTerminology()),
  today: '2026-12-05',
});

export const openCohortTestDb = (): Promise<MpiTestDb> =>
  openMpiTestDb({
    migrations: [...QUARANTINE_MIGRATIONS, ...CLINICAL_STORE_MIGRATIONS, ...COHORT_MIGRATIONS],
    prefix: 'coh',
    maxConnections: 4,
  });

export const steward = (db: Database, protection: IdentifierProtection): StewardContext => ({
  db,
  protection,
  survivorship: loadSurvivorshipConfig(),
  who: { actor: 'steward-cohort', reason: 'same person: confirmed with registration', requestId: 'req-cohort' },
  audit: async () => undefined,
});

let n = 0;
/** A golden patient of one source record, unlike every other person of the test. */
export async function someone(
  t: MpiTestDb,
  source: string,
  id: string,
  p: { readonly gender: string; readonly birthDate: string; readonly postalCode?: string },
): Promise<string> {
  n++;
  const families = ['Quillfeather', 'Ravenscroft', 'Silverthorne', 'Thistlewood', 'Underhill', 'Vantongeren', 'Wolcott', 'Yarborough'];
  const outcome = await linkSourceRecord(
    t.db,
    person({
      source,
      id,
      family: `${families[n % families.length]}${String.fromCharCode(97 + (n % 26))}${n}`,
      given: [`Given${n}x`],
      birthDate: p.birthDate,
      gender: p.gender,
      ssn: `6${String(20000000 + n * 7919).slice(0, 8)}`,
      line: `${n} Juniper Lane`,
      postalCode: p.postalCode ?? '62704',
      phone: `312-555-${String(2000 + n).slice(-4)}`,
    }),
    t.protection,
  );
  return outcome.goldenId;
}

const condition = (id: string, patient: string, coding: { system: string; code: string }, onset: string, extra = {}) => ({
  resourceType: 'Condition',
  id,
  subject: { reference: `Patient/${patient}` },
  code: { coding: [coding] },
  onsetDateTime: onset,
  ...extra,
});

export type Fixture = Readonly<Record<'ann' | 'bob' | 'cara' | 'dan' | 'eve', string>>;

/**
 * ann (F 1960, 606): ICD-10-CM E11.9, HbA1c 9.5 %, an encounter in March 2026.
 * bob (M 1985, 100): glucose sent as 8 mmol/L (stored 144 mg/dL), E11.65 in a local system (not ICD-10-CM).
 * cara (F 2000, 606, cerner): HbA1c 10 % entered-in-error and 6.0 %, metformin (RxNorm 860975), SNOMED 44054006,
 *   ICD-10-CM I10 retired (her source no longer returns it).
 * dan (M 1950, epic): E11.9, merged into eve (F 1990, cerner), who has no condition of her own.
 */
export async function buildFixture(t: MpiTestDb): Promise<Fixture> {
  const ann = await someone(t, EPIC, 'A1', { gender: 'female', birthDate: '1960-05-10', postalCode: '60601' });
  const bob = await someone(t, EPIC, 'B1', { gender: 'male', birthDate: '1985-01-01', postalCode: '10001' });
  const cara = await someone(t, CERNER, 'C1', { gender: 'female', birthDate: '2000-07-04', postalCode: '60614' });
  const dan = await someone(t, EPIC, 'D1', { gender: 'male', birthDate: '1950-02-02', postalCode: '62701' });
  const eve = await someone(t, CERNER, 'E1', { gender: 'female', birthDate: '1990-09-09', postalCode: '62702' });
  assert.equal(new Set([ann, bob, cara, dan, eve]).size, 5, 'five distinct golden patients');
  const icd = (code: string) => ({ system: 'http://hl7.org/fhir/sid/icd-10-cm', code });
  const epic = await ingestResources(
    t.db,
    [
      condition('ca1', 'A1', icd('E11.9'), '2025-02-01T10:00:00Z'),
      observation({
        id: 'oa1',
        patient: 'A1',
        coding: { system: 'http://loinc.org', code: '4548-4' },
        value: 9.5,
        unit: '%',
        at: '2026-06-01T09:00:00Z',
      }),
      {
        resourceType: 'Encounter',
        id: 'ea1',
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
        subject: { reference: 'Patient/A1' },
        period: { start: '2026-03-15T14:00:00Z' },
      },
      observation({
        id: 'ob1',
        patient: 'B1',
        coding: { system: 'http://loinc.org', code: '2345-7' },
        value: 8,
        unit: 'mmol/L',
        at: '2026-05-01T08:00:00Z',
      }),
      condition('cb1', 'B1', { system: 'urn:oid:2.16.840.1.113883.999.1', code: 'E11.65' }, '2025-03-01T10:00:00Z'),
      condition('cd1', 'D1', icd('E11.9'), '2024-01-01T10:00:00Z'),
    ],
    context(EPIC),
    t.protection,
  );
  const cerner = await ingestResources(
    t.db,
    [
      observation({
        id: 'oc1',
        patient: 'C1',
        coding: { system: 'http://loinc.org', code: '4548-4' },
        value: 10,
        unit: '%',
        at: '2026-06-02T09:00:00Z',
        extra: { status: 'entered-in-error' },
      }),
      observation({
        id: 'oc2',
        patient: 'C1',
        coding: { system: 'http://loinc.org', code: '4548-4' },
        value: 6,
        unit: '%',
        at: '2026-06-03T09:00:00Z',
      }),
      {
        resourceType: 'MedicationRequest',
        id: 'mc1',
        status: 'active',
        intent: 'order',
        subject: { reference: 'Patient/C1' },
        medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '860975' }] },
        authoredOn: '2026-02-01T10:00:00Z',
      },
      condition('cc1', 'C1', { system: 'http://snomed.info/sct', code: '44054006' }, '2023-05-05T10:00:00Z'),
      condition('cc2', 'C1', icd('I10'), '2023-05-05T10:00:00Z'),
    ],
    context(CERNER),
    t.protection,
  );
  assert.deepEqual([...epic.quarantined, ...cerner.quarantined], [], 'the fixture is stored whole');
  // Cerner's next complete read of cara's conditions no longer returns the hypertension: retired.
  assert.equal(await retireAbsent(t.db, { source: CERNER, resourceType: 'Condition', subjectIds: ['C1'], present: ['cc1'] }), 1);
  const withdrawn = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM clinical_item WHERE entered_in_error`);
  assert.equal(withdrawn.rows[0]!.n, 1, 'the entered-in-error trap is stored as withdrawn');
  const converted = await t.db.query<{ v: string; u: string }>(
    `SELECT value_num::text AS v, value_unit AS u FROM clinical_item WHERE resource_id = 'ob1'`,
  );
  assert.equal(converted.rows[0]!.u, 'mg/dL', 'the glucose sent in mmol/L is stored in mg/dL');
  await mergePatients(steward(t.db, t.protection), eve, dan);
  return { ann, bob, cara, dan, eve };
}
