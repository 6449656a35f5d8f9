// Builds us-core-profiles.json, the part of the US Core profiles this validator checks: for each
// resource profile, the top-level elements it makes mandatory (min >= 1) and must-support, merged
// along the chain of US Core profiles it derives from. Source: the US Core differentials in
// ../shared/data/fhir/us-core-profiles-differential (CC0). The shared set has no us-core-patient;
// its entry is written from the US Core Patient profile (identifier and name are mandatory; gender
// is must-support since US Core 6, and the US Core examples of this version omit it).
// Run: node translation/fhir-r4/validation/us-core/generate.ts > translation/fhir-r4/validation/us-core/us-core-profiles.json
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type ProfileRules = { readonly type: string; readonly mandatory: readonly string[]; readonly mustSupport: readonly string[] };

type Element = { id: string; path: string; min?: number; mustSupport?: boolean };
type Sd = {
  resourceType: string;
  url: string;
  type: string;
  kind?: string;
  baseDefinition?: string;
  differential?: { element: Element[] };
};

const DIR = fileURLToPath(new URL('../../../../../shared/data/fhir/us-core-profiles-differential/', import.meta.url));

export const US_CORE_PATIENT: ProfileRules = {
  type: 'Patient',
  mandatory: ['Patient.identifier', 'Patient.name'],
  mustSupport: [
    'Patient.identifier',
    'Patient.name',
    'Patient.telecom',
    'Patient.gender',
    'Patient.birthDate',
    'Patient.deceased[x]',
    'Patient.address',
    'Patient.communication',
  ],
};

export function generate(dir = DIR): Record<string, ProfileRules> {
  const sds = new Map<string, Sd>();
  for (const f of readdirSync(dir).filter((x) => x.startsWith('StructureDefinition-'))) {
    const sd = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Sd;
    if (sd.kind === 'resource' && sd.type !== 'Extension') sds.set(sd.url, sd);
  }
  const own = (sd: Sd, pick: (e: Element) => boolean): string[] =>
    (sd.differential?.element ?? []).filter((e) => !e.id.includes(':') && e.path.split('.').length === 2 && pick(e)).map((e) => e.path);
  const rules = (sd: Sd, seen = new Set<string>()): ProfileRules => {
    const parent =
      sd.baseDefinition && sds.get(sd.baseDefinition) && !seen.has(sd.url)
        ? rules(sds.get(sd.baseDefinition) as Sd, seen.add(sd.url))
        : undefined;
    const merge = (a: readonly string[] = [], b: readonly string[]): string[] => [...new Set([...a, ...b])].sort();
    return {
      type: sd.type,
      mandatory: merge(
        parent?.mandatory,
        own(sd, (e) => (e.min ?? 0) >= 1),
      ),
      mustSupport: merge(
        parent?.mustSupport,
        own(sd, (e) => e.mustSupport === true),
      ),
    };
  };
  const out: Record<string, ProfileRules> = { 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient': US_CORE_PATIENT };
  for (const url of [...sds.keys()].sort()) out[url] = rules(sds.get(url) as Sd);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${JSON.stringify(generate(), null, 1)}\n`);
