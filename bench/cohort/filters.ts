// The five typical cohort filters of the benchmark, each as an analyst sends it (PatientFilter,
// de-identified: years only) and as plain SQL a database engineer would write for the same question
// over the same tables (the floor the GraphQL path adds to). Both must select the same patients:
// run.ts checks that the first pages agree.
import { SYSTEMS } from '../../translation/terminology/code-syntax.ts';

export type BenchFilter = {
  readonly name: string;
  readonly what: string;
  readonly filter: Record<string, unknown>;
  /** A condition over `golden_patient g` (active records only are added by the caller). */
  readonly sql: string;
};

type ItemMatch = {
  readonly type: 'Observation' | 'Condition';
  readonly system: string;
  /** An exact code, or a code prefix (ICD-10-CM) ending in '%'. */
  readonly code: string;
  readonly valueFrom?: number;
  readonly unit?: string;
  /** Year the window starts (inclusive, 1 January UTC). */
  readonly fromYear?: number;
};

/** EXISTS over the patient's live source records and their live items. */
function hasItem(m: ItemMatch): string {
  const code = m.code.endsWith('%') ? `i.code >= '${m.code.slice(0, -1)}' AND i.code < '${m.code.slice(0, -1)}~'` : `i.code = '${m.code}'`;
  const value = m.valueFrom === undefined ? '' : ` AND i.value_unit = '${m.unit}' AND i.value_num >= ${m.valueFrom}`;
  const window = m.fromYear === undefined ? '' : ` AND i.effective_at >= '${m.fromYear}-01-01T00:00:00Z'`;
  return `EXISTS (SELECT 1 FROM source_record s JOIN clinical_item i ON i.source = s.source AND i.subject_id = s.source_patient_id
    WHERE s.golden_id = g.id AND s.deleted_at IS NULL AND i.resource_type = '${m.type}' AND i.code_system = '${m.system}' AND ${code}${value}${window}
      AND NOT i.entered_in_error AND i.deleted_at IS NULL)`;
}

const BIRTH_YEAR = `substring(g.birth_date from 1 for 4)::int`;
const ZIP3 = `left(btrim(g.addresses->0->>'postalCode'), 3)`;

/** `year`: the year ages are counted in (analysts' ages are years since the shown birth year; 90 or older shows none). */
export function benchFilters(year: number): BenchFilter[] {
  const oldestShown = year - 89;
  return [
    {
      name: 'demographic',
      what: 'female, born 1940-1969',
      filter: { gender: 'female', birthYearFrom: 1940, birthYearTo: 1969 },
      sql: `g.gender = 'female' AND g.birth_date >= '1940' AND g.birth_date < '1970'`,
    },
    {
      name: 'condition',
      what: 'hypertension (ICD-10-CM I10*)',
      filter: { condition: { system: SYSTEMS.icd10cm, codes: ['I10'] } },
      sql: hasItem({ type: 'Condition', system: SYSTEMS.icd10cm, code: 'I10%' }),
    },
    {
      name: 'observation',
      what: 'HbA1c (LOINC 4548-4) >= 6.5 %',
      filter: { observation: { code: '4548-4', valueFrom: 6.5, unit: '%' } },
      sql: hasItem({ type: 'Observation', system: SYSTEMS.loinc, code: '4548-4', valueFrom: 6.5, unit: '%' }),
    },
    {
      name: 'and',
      what: 'aged 40+, hypertension, and BMI >= 30 kg/m2 since 2020',
      filter: {
        ageFrom: 40,
        condition: { system: SYSTEMS.icd10cm, codes: ['I10'] },
        observation: { code: '39156-5', valueFrom: 30, unit: 'kg/m2', from: '2020' },
      },
      sql: `${BIRTH_YEAR} BETWEEN ${oldestShown} AND ${year - 40} AND g.birth_date ~ '^[0-9]{4}'
        AND ${hasItem({ type: 'Condition', system: SYSTEMS.icd10cm, code: 'I10%' })}
        AND ${hasItem({ type: 'Observation', system: SYSTEMS.loinc, code: '39156-5', valueFrom: 30, unit: 'kg/m2', fromYear: 2020 })}`,
    },
    {
      name: 'or-not',
      what: 'type 2 diabetes (E11*) or glucose >= 126 mg/dL, not in ZIP3 606',
      filter: {
        or: [
          { condition: { system: SYSTEMS.icd10cm, codes: ['E11'] } },
          { observation: { code: '2345-7', valueFrom: 126, unit: 'mg/dL' } },
        ],
        not: { postalCodePrefix: '606' },
      },
      sql: `(${hasItem({ type: 'Condition', system: SYSTEMS.icd10cm, code: 'E11%' })}
        OR ${hasItem({ type: 'Observation', system: SYSTEMS.loinc, code: '2345-7', valueFrom: 126, unit: 'mg/dL' })})
        AND ${ZIP3} IS DISTINCT FROM '606'`,
    },
  ];
}
