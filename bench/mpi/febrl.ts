// FEBRL record-linkage benchmark data (../shared/data/mpi/febrl, see its README) as FHIR R4
// Patient resources, the way a source would send them: empty fields omitted, impossible birth
// dates passed on as recorded (the point is that they reach the product as sources send them).
//
//   node bench/mpi/febrl.ts --dataset 1 [--febrl DIR] > febrl1.ndjson     (4a / 4b for dataset 4)
//   npm run mpi:link -- --input febrl1.ndjson --out clusters.csv --source febrl
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../../platform/config.ts';

export const FEBRL_DIR = resolve(PROJECT_ROOT, '../shared/data/mpi/febrl');

export const FEBRL_COLUMNS = [
  'rec_id',
  'given_name',
  'surname',
  'street_number',
  'address_1',
  'address_2',
  'suburb',
  'postcode',
  'state',
  'date_of_birth',
  'soc_sec_id',
] as const;
export type FebrlRow = Readonly<Record<(typeof FEBRL_COLUMNS)[number], string>>;

/** The benchmark datasets; dataset 4 is two files linked across two sources. */
export const FEBRL_DATASETS = [
  { name: 'FEBRL 1', files: [{ file: 'dataset1.csv', source: 'febrl' }] },
  { name: 'FEBRL 2', files: [{ file: 'dataset2.csv', source: 'febrl' }] },
  { name: 'FEBRL 3', files: [{ file: 'dataset3.csv', source: 'febrl' }] },
  {
    name: 'FEBRL 4',
    files: [
      { file: 'dataset4a.csv', source: 'febrl-a' },
      { file: 'dataset4b.csv', source: 'febrl-b' },
    ],
  },
] as const;

/**
 * "a, b, , c" rows (comma, then spaces skipped: pandas' skipinitialspace), CRLF or LF, header
 * first. No field of these files is quoted or holds a comma (checked: 11 fields on every line).
 */
export function parseFebrlCsv(text: string): FebrlRow[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  if (FEBRL_COLUMNS.some((c, i) => header[i] !== c)) throw new Error(`not a FEBRL file: header is ${JSON.stringify(header)}`);
  return lines.slice(1).map((line, i) => {
    const fields = line.split(',').map((f) => f.replace(/^\s+/, '').trimEnd());
    if (fields.length !== FEBRL_COLUMNS.length)
      throw new Error(`FEBRL line ${i + 2}: ${fields.length} fields, expected ${FEBRL_COLUMNS.length}`);
    return Object.fromEntries(FEBRL_COLUMNS.map((c, j) => [c, fields[j]!])) as FebrlRow;
  });
}

/** FHIR ids are [A-Za-z0-9-.]{1,64}. */
export const fhirId = (value: string): string => value.replace(/[^A-Za-z0-9.-]/g, '-').slice(0, 64) || 'unknown';

/** The true entity of a record: N of rec-N-org / rec-N-dup-k. */
export function febrlEntity(recId: string): string {
  const n = /^rec-(\d+)-/.exec(recId)?.[1];
  if (n === undefined) throw new Error(`FEBRL record id without an entity number: ${recId}`);
  return n;
}

/** YYYYMMDD to YYYY-MM-DD, whether or not the date exists (19561345 -> 1956-13-45); other shapes as they are. */
export const febrlBirthDate = (digits: string): string | undefined =>
  digits === '' ? undefined : /^\d{8}$/.test(digits) ? `${digits.slice(0, 4)}-${digits.slice(4, 6)}-${digits.slice(6, 8)}` : digits;

const nonEmpty = (values: readonly string[]): string[] => values.filter((v) => v !== '');

export type FhirPatientResource = {
  readonly resourceType: 'Patient';
  readonly id: string;
  readonly identifier?: readonly { system: string; value: string }[];
  readonly name?: readonly { family?: string; given?: string[] }[];
  readonly birthDate?: string;
  readonly address?: readonly { line?: string[]; city?: string; state?: string; postalCode?: string; country: string }[];
};

export function febrlToPatient(row: FebrlRow): FhirPatientResource {
  const name = { ...(row.surname ? { family: row.surname } : {}), ...(row.given_name ? { given: [row.given_name] } : {}) };
  const line = nonEmpty([`${row.street_number} ${row.address_1}`.trim(), row.address_2]);
  const birthDate = febrlBirthDate(row.date_of_birth);
  return {
    resourceType: 'Patient',
    id: fhirId(row.rec_id),
    ...(row.soc_sec_id ? { identifier: [{ system: 'http://hl7.org/fhir/sid/us-ssn', value: row.soc_sec_id }] } : {}),
    // An empty HumanName is not valid FHIR: no name at all when both parts are empty.
    ...(Object.keys(name).length > 0 ? { name: [name] } : {}),
    ...(birthDate ? { birthDate } : {}),
    address: [
      {
        ...(line.length > 0 ? { line } : {}),
        ...(row.suburb ? { city: row.suburb } : {}),
        ...(row.state ? { state: row.state } : {}),
        ...(row.postcode ? { postalCode: row.postcode } : {}),
        country: 'AU',
      },
    ],
  };
}

export const readFebrl = (file: string, dir = FEBRL_DIR): FebrlRow[] => parseFebrlCsv(readFileSync(join(dir, file), 'utf8'));

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { dataset: { type: 'string' }, febrl: { type: 'string', default: FEBRL_DIR }, help: { type: 'boolean', default: false } },
  });
  const files: Record<string, string> = {
    '1': 'dataset1.csv',
    '2': 'dataset2.csv',
    '3': 'dataset3.csv',
    '4a': 'dataset4a.csv',
    '4b': 'dataset4b.csv',
  };
  const file = files[values.dataset ?? ''];
  if (values.help || !file) {
    process.stderr.write('usage: node bench/mpi/febrl.ts --dataset 1|2|3|4a|4b [--febrl DIR] > patients.ndjson\n');
    return values.help ? 0 : 2;
  }
  if (!existsSync(join(values.febrl, file))) {
    process.stderr.write(`febrl: ${join(values.febrl, file)} not found (the FEBRL data lives in ../shared/data/mpi/febrl)\n`);
    return 2;
  }
  for (const row of readFebrl(file, values.febrl)) process.stdout.write(`${JSON.stringify(febrlToPatient(row))}\n`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = await main();
