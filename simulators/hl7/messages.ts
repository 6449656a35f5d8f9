// An HL7 v2 site's traffic, written from the synthetic population (the vendor-neutral appearances
// of simulators/population): for every patient of the site an ADT^A04 registration, an ADT^A08
// update (the registrar corrects the phone), and an ORU^R01 per recent result. The site's system
// has an older interface engine's quirks: v2.3 ADT, segments ended by LF alone, timestamps in local
// wall-clock time without an offset, results coded with a local code first and LOINC as the alternate.
// Deterministic: the same population gives the same messages, control ids included (a restart sends
// the same ids again, so the gateway answers them as duplicates).
import { OBSERVATION_BY_LOINC } from '../population/catalog.ts';
import type { Appearance, Demographics } from '../population/model.ts';

/** How the HL7 site identifies itself (MSH-3, MSH-4) and keeps its clock. */
export type Hl7SiteSpec = {
  readonly id: string;
  /** MSH-4: the facility the gateway's feed configuration names. */
  readonly facility: string;
  readonly timeZone: string;
};

/** Recent results sent per patient (the site's lab feed covers its last few). */
export const RESULTS_PER_PATIENT = 3;
const SEGMENT_END = '\n';

/** HL7 DTM in the site's wall-clock time, without an offset (the quirk): YYYYMMDDHHMMSS. */
export function localDtm(ms: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(ms));
  const v = (t: string) => parts.find((p) => p.type === t)!.value;
  return `${v('year')}${v('month')}${v('day')}${v('hour')}${v('minute')}${v('second')}`;
}

/** Field values never carry the delimiters: the population has none, but a name could. */
const esc = (s: string | null | undefined): string =>
  (s ?? '').replace(/\\/g, '\\E\\').replace(/\|/g, '\\F\\').replace(/\^/g, '\\S\\').replace(/&/g, '\\T\\').replace(/~/g, '\\R\\');

/** The site's MRN of an appearance: stable, derived from the person and the site. */
export const siteMrn = (a: Pick<Appearance, 'personId'>, site: Pick<Hl7SiteSpec, 'facility'>): string =>
  `${site.facility.slice(0, 3)}${a.personId.replace(/\D/g, '').padStart(7, '0')}`;

function pid(d: Demographics, mrn: string, facility: string, phone = d.phone): string {
  const name = [esc(d.family), esc(d.given), esc(d.middle), esc(d.suffix)].join('^');
  const address = [
    esc(d.address.line[0]),
    esc(d.address.line[1]),
    esc(d.address.city),
    esc(d.address.state),
    esc(d.address.postalCode),
  ].join('^');
  return [
    'PID',
    '1',
    '',
    `${mrn}^^^${facility}^MR`,
    '',
    name,
    '',
    d.birthDate.replace(/-/g, ''),
    d.sex === 'female' ? 'F' : 'M',
    '',
    '',
    address,
    '',
    esc(phone),
    '',
    '',
    d.maritalStatus,
    '',
    '',
    esc(d.ssn?.replace(/-/g, '')),
  ].join('|');
}

const msh = (site: Hl7SiteSpec, app: string, at: number, type: string, controlId: string, version: string): string =>
  `MSH|^~\\&|${app}|${site.facility}|PATIENT_GATEWAY|PGW|${localDtm(at, site.timeZone)}||${type}|${controlId}|P|${version}`;

/** The phone the registrar corrects at the update: the fictional block's next number. */
const correctedPhone = (phone: string): string => phone.replace(/(\d\d)$/, (n) => String((Number(n) + 1) % 100).padStart(2, '0'));

const HOUR = 3_600_000;

/** One appearance's messages, in the order the site sends them. */
export function appearanceMessages(a: Appearance, site: Hl7SiteSpec): string[] {
  const mrn = siteMrn(a, site);
  const d = a.demographics;
  const registered = Math.min(...[a.lastUpdated, ...a.clinical.encounters.map((e) => e.start)]);
  const id = (kind: string) => `${mrn}-${kind}`;
  const out = [
    [
      msh(site, 'REG', registered, 'ADT^A04', id('A04'), '2.3'),
      `EVN|A04|${localDtm(registered, site.timeZone)}`,
      pid(d, mrn, site.facility),
      'PV1|1|O',
    ],
    [
      msh(site, 'REG', a.lastUpdated, 'ADT^A08', id('A08'), '2.3'),
      `EVN|A08|${localDtm(a.lastUpdated, site.timeZone)}`,
      pid(d, mrn, site.facility, correctedPhone(d.phone)),
      'PV1|1|O',
    ],
  ];
  const results = [...a.clinical.observations].sort((x, y) => y.effective - x.effective).slice(0, RESULTS_PER_PATIENT);
  results.forEach((o, i) => {
    const concept = OBSERVATION_BY_LOINC.get(o.loinc);
    if (!concept) return;
    const at = localDtm(o.effective, site.timeZone);
    const local = `L${o.loinc.replace(/-/g, '')}`;
    const range = concept.range ? `${concept.range.low}-${concept.range.high}` : '';
    const flag = concept.range ? (o.value < concept.range.low ? 'L' : o.value > concept.range.high ? 'H' : 'N') : '';
    out.push([
      msh(site, 'LAB', o.effective + HOUR, 'ORU^R01', id(`R${i + 1}`), '2.5.1'),
      // The patient as the site now knows them (after the update): a result changes no demographics.
      pid(d, mrn, site.facility, correctedPhone(d.phone)),
      `OBR|1||${esc(o.key)}|${local}^${esc(concept.display)}^99LOCAL^${o.loinc}^${esc(concept.display)}^LN|||${at}`,
      `OBX|1|NM|${local}^${esc(concept.display)}^99LOCAL^${o.loinc}^${esc(concept.display)}^LN||${o.value.toFixed(concept.digits)}|${concept.unit}^^UCUM|${range}|${flag}|||F|||${at}`,
    ]);
  });
  return out.map((segments) => segments.join(SEGMENT_END) + SEGMENT_END);
}

/** Every message of the site, patient by patient. */
export function siteMessages(appearances: readonly Appearance[], site: Hl7SiteSpec): string[] {
  return appearances.filter((a) => a.site.id === site.id).flatMap((a) => appearanceMessages(a, site));
}
