// US Core conformance for resources that claim a US Core profile (meta.profile), or that the
// deployment assumes to be US Core: the profile's mandatory top-level elements (an error when
// claimed, a warning when assumed) and its must-support ones (a warning when absent: the sender
// should send them when it has them). The table is generated from the US Core profiles (us-core/).
import { readFileSync } from 'node:fs';
import type { TranslationIssue } from '../../issues.ts';
import type { Rule } from './context.ts';
import { isObject, resourceNodes, type Json } from './walk.ts';

type ProfileRules = { readonly type: string; readonly mandatory: readonly string[]; readonly mustSupport: readonly string[] };

const PROFILES = JSON.parse(readFileSync(new URL('./us-core/us-core-profiles.json', import.meta.url), 'utf8')) as Record<
  string,
  ProfileRules
>;
const US_CORE = 'http://hl7.org/fhir/us/core/StructureDefinition/';

/** The US Core profile assumed for a resource type when the deployment asks (`assumeUsCore`): the type's main profile. */
export const BASE_PROFILE: Readonly<Record<string, string>> = Object.fromEntries(
  [
    'Patient',
    'AllergyIntolerance',
    'CarePlan',
    'CareTeam',
    'Encounter',
    'Goal',
    'Immunization',
    'MedicationRequest',
    'MedicationDispense',
    'Procedure',
    'Location',
    'Organization',
    'Practitioner',
    'PractitionerRole',
    'Device',
    'Medication',
    'Specimen',
    'Coverage',
    'RelatedPerson',
  ].map((t) => [t, `${US_CORE}us-core-${t.toLowerCase()}`]),
);

/** Whether the element at `path` (Type.name, Type.name[x] or Type.nameType) has a value or primitive extensions. */
function present(r: Json, path: string): boolean {
  const name = path.slice(path.indexOf('.') + 1);
  if (name.endsWith('[x]')) {
    const base = name.slice(0, -3);
    return Object.keys(r).some(
      (k) => (k.startsWith(base) || k.startsWith(`_${base}`)) && /^[A-Z]/.test(k.slice(k.startsWith('_') ? base.length + 1 : base.length)),
    );
  }
  return r[name] !== undefined || r[`_${name}`] !== undefined;
}

function check(r: Json, at: string, url: string, rules: ProfileRules, claimed: boolean): TranslationIssue[] {
  const name = url.slice(url.lastIndexOf('/') + 1);
  const out: TranslationIssue[] = [];
  for (const p of rules.mandatory) {
    if (!present(r, p))
      out.push({
        severity: claimed ? 'error' : 'warning',
        path: `${at}.${p.split('.')[1]}`,
        message: `required by US Core profile ${name}, and absent`,
      });
  }
  for (const p of rules.mustSupport) {
    if (!rules.mandatory.includes(p) && !present(r, p))
      out.push({
        severity: 'warning',
        path: `${at}.${p.split('.')[1]}`,
        message: `must-support element of US Core profile ${name} is absent`,
      });
  }
  return out;
}

export const usCore: Rule = ({ nodes, options }) =>
  resourceNodes(nodes).flatMap((n) => {
    const r = n.value as Json;
    const type = String(r.resourceType);
    const claimed = (isObject(r.meta) && Array.isArray(r.meta.profile) ? r.meta.profile : [])
      .filter((p): p is string => typeof p === 'string')
      .map((p) => p.split('|')[0] ?? p)
      .filter((p) => PROFILES[p]?.type === type);
    if (claimed.length > 0) return claimed.flatMap((url) => check(r, n.path, url, PROFILES[url] as ProfileRules, true));
    const assumed = options.assumeUsCore.includes(type) ? BASE_PROFILE[type] : undefined;
    return assumed && PROFILES[assumed] ? check(r, n.path, assumed, PROFILES[assumed], false) : [];
  });
