// Narrative XHTML (txt-1, txt-2): only the basic formatting elements and attributes of HTML 4 with
// no scripts or event handlers, well-formed XML entities, and '#' links that point inside the resource.
import type { TranslationIssue } from '../../issues.ts';
import type { Rule } from './context.ts';
import { isObject, resourceNodes, type Json } from './walk.ts';

const ELEMENTS = new Set(
  (
    'p br div h1 h2 h3 h4 h5 h6 a span b em i strong small big tt dfn q var abbr acronym cite blockquote hr address bdo ' +
    'kbd sub sup ul ol li dl dt dd pre table caption colgroup col thead tr tfoot tbody th td code samp img map area ins del u s strike center font'
  ).split(' '),
);
const XML_ENTITIES = new Set(['lt', 'gt', 'amp', 'quot', 'apos']);

export function xhtmlIssues(div: string, path: string, anchors: ReadonlySet<string>): TranslationIssue[] {
  const out: TranslationIssue[] = [];
  const bad = new Set<string>();
  for (const m of div.matchAll(/<([A-Za-z][A-Za-z0-9:-]*)([^>]*)>/g)) {
    const name = (m[1] ?? '').toLowerCase().replace(/^xhtml:/, '');
    if (!ELEMENTS.has(name)) bad.add(`element <${name}>`);
    for (const a of (m[2] ?? '').matchAll(/([A-Za-z_:][A-Za-z0-9_:.-]*)\s*=/g)) {
      const attr = (a[1] ?? '').toLowerCase();
      if (attr.startsWith('on')) bad.add(`attribute ${attr}`);
    }
  }
  for (const what of bad) out.push({ severity: 'error', path, message: `narrative contains ${what}, which is not allowed (txt-1, txt-2)` });
  for (const m of div.matchAll(/&([A-Za-z][A-Za-z0-9]*);/g)) {
    if (!XML_ENTITIES.has(m[1] ?? '')) {
      out.push({ severity: 'error', path, message: `narrative uses the entity &${m[1]}; which XHTML does not define` });
      break;
    }
  }
  const local = new Set(anchors);
  for (const m of div.matchAll(/\s(?:id|name)\s*=\s*"([^"]*)"/g)) local.add(m[1] ?? '');
  for (const m of div.matchAll(/href\s*=\s*"#([^"]*)"/g)) {
    if (m[1] && !local.has(m[1])) {
      out.push({ severity: 'error', path, message: 'narrative link to a fragment that is not in the resource' });
      break;
    }
  }
  return out;
}

/** Ids a narrative '#' link can point at: its own anchors and its contained resources. */
const containedIds = (r: Json): Set<string> =>
  new Set(((Array.isArray(r.contained) ? r.contained : []) as unknown[]).filter(isObject).map((c) => String(c.id)));

export const narratives: Rule = ({ nodes }) =>
  resourceNodes(nodes).flatMap((n) => {
    const r = n.value as Json;
    const text = isObject(r.text) ? r.text : undefined;
    return typeof text?.div === 'string' ? xhtmlIssues(text.div, `${n.path}.text.div`, containedIds(r)) : [];
  });
