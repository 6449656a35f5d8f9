// Extensions: the URL must name a known definition (R4 core, US Core, or a prefix the deployment
// declares), carry no version, and the extension must be used where its definition allows, with
// a value of a type it allows.
import type { TranslationIssue } from '../../issues.ts';
import { GRADE, graded, type Context, type Rule } from './context.ts';
import type { ExtensionDef } from './definitions.ts';
import { isObject, type Json, type Node } from './walk.ts';

const US_CORE = 'http://hl7.org/fhir/us/core/StructureDefinition/';
/** US Core 6+ extensions (CC0) and the types of their values (empty: sub-extensions only). */
const US_CORE_EXTENSIONS: Readonly<Record<string, readonly string[]>> = {
  'us-core-authentication-time': ['dateTime'],
  'us-core-birthsex': ['code'],
  'us-core-direct': ['boolean'],
  'us-core-ethnicity': [],
  'us-core-extension-questionnaire-uri': ['uri'],
  'us-core-familymemberhistory-recorder': ['Reference'],
  'us-core-genderIdentity': ['CodeableConcept'],
  'us-core-individual-sex': ['Coding'],
  'us-core-interpreter-needed': ['Coding'],
  'us-core-jurisdiction': ['CodeableConcept'],
  'us-core-medication-adherence': [],
  'us-core-race': [],
  'us-core-sex': ['code'],
  'us-core-tribal-affiliation': [],
  'uscdi-requirement': ['boolean'],
};

function known(ctx: Context, url: string): ExtensionDef | 'known' | undefined {
  const def = ctx.defs.extensions.get(url);
  if (def) return def;
  if (url.startsWith(US_CORE)) {
    const types = US_CORE_EXTENSIONS[url.slice(US_CORE.length)];
    if (types) return { url, contexts: [], valueTypes: types, isModifier: false };
  }
  return ctx.options.knownExtensionPrefixes.some((p) => url.startsWith(p)) ? 'known' : undefined;
}

const valueType = (ext: Json): string | undefined => {
  const key = Object.keys(ext).find((k) => k.startsWith('value') && k.length > 5);
  if (!key) return undefined;
  const t = key.slice(5);
  // Primitive type names are lower camel case (valueDateTime is a dateTime, valueCodeableConcept a CodeableConcept).
  const primitive = t.charAt(0).toLowerCase() + t.slice(1);
  return [
    'Address',
    'Age',
    'Annotation',
    'Attachment',
    'CodeableConcept',
    'Coding',
    'ContactPoint',
    'Count',
    'Distance',
    'Duration',
    'HumanName',
    'Identifier',
    'Money',
    'Period',
    'Quantity',
    'Range',
    'Ratio',
    'Reference',
    'SampledData',
    'Signature',
    'Timing',
    'ContactDetail',
    'Contributor',
    'DataRequirement',
    'Expression',
    'ParameterDefinition',
    'RelatedArtifact',
    'TriggerDefinition',
    'UsageContext',
    'Dosage',
    'Meta',
  ].includes(t)
    ? t
    : primitive;
};

/** Whether a definition's contexts allow use on an element of `type` at `elementPath`. */
function contextAllows(
  def: ExtensionDef,
  type: string,
  elementPath: string | undefined,
  isResource: boolean,
  isPrimitive: boolean,
): boolean {
  if (def.contexts.length === 0) return true;
  return def.contexts.some((c) => {
    if (c.type !== 'element') return true; // FHIRPath and extension contexts: not checked here
    const e = c.expression;
    if (e === 'Element' || e === 'Base') return true;
    if (e === 'Resource' || e === 'DomainResource') return isResource;
    if (e === 'BackboneElement') return !isResource && !isPrimitive;
    if (e === 'PrimitiveType' || e === 'primitive') return isPrimitive;
    return e === type || e === elementPath || (elementPath !== undefined && e.replace('[x]', '') === elementPath.replace('[x]', ''));
  });
}

type Host = { path: string; type: string; elementPath: string | undefined; isResource: boolean; isPrimitive: boolean };

function checkExtension(ctx: Context, ext: Json, at: string, host: Host, modifier: boolean, out: TranslationIssue[]): void {
  const url = ext.url;
  if (typeof url !== 'string') return; // Extension.url is required: @medplum/core reports it
  if (url.includes('|')) {
    out.push({ severity: 'error', path: `${at}.url`, message: 'an extension URL must not contain a version' });
    return;
  }
  const def = known(ctx, url);
  if (def === undefined) {
    const grade = modifier ? GRADE.error : ctx.options.unknownExtensions;
    out.push(...graded(grade, at, `unknown extension ${url}`));
    return;
  }
  if (def === 'known') return;
  if (!contextAllows(def, host.type, host.elementPath, host.isResource, host.isPrimitive)) {
    out.push({ severity: 'error', path: at, message: `extension ${url} is not allowed on this element` });
  }
  const t = valueType(ext);
  if (t !== undefined && def.valueTypes.length > 0 && !def.valueTypes.includes(t)) {
    out.push({ severity: 'error', path: at, message: `extension ${url} does not allow a value of type ${t}` });
  }
}

const PRIMITIVE = /^[a-z]/;

export const extensions: Rule = (ctx) => {
  const out: TranslationIssue[] = [];
  const byPath = new Map<string, Node>(ctx.nodes.map((n) => [n.path, n]));
  for (const n of ctx.nodes) {
    if (n.type === 'Extension' && isObject(n.value)) {
      const m = /^(.*)\.(extension|modifierExtension)\[\d+\]$/.exec(n.path);
      const parent = m ? byPath.get(m[1] ?? '') : undefined;
      // Sub-extensions of a complex extension are defined by that extension: not checked here.
      if (!parent || parent.type === 'Extension') continue;
      const isResource = isObject(parent.value) && parent.value.resourceType === parent.type;
      checkExtension(
        ctx,
        n.value,
        n.path,
        { path: parent.path, type: parent.type, elementPath: parent.element?.path, isResource, isPrimitive: false },
        m?.[2] === 'modifierExtension',
        out,
      );
    }
    if (n.extensions.length > 0) {
      n.extensions.forEach((ext, i) => {
        if (isObject(ext))
          checkExtension(
            ctx,
            ext,
            `${n.path}.extension[${i}]`,
            { path: n.path, type: n.type, elementPath: n.element?.path, isResource: false, isPrimitive: PRIMITIVE.test(n.type) },
            false,
            out,
          );
      });
    }
  }
  return out;
};
