// SNOMED CT descendants as far as the loaded concept maps define them: a code mapped to a SNOMED
// CT concept as wider or subsumes (the target subsumes the source) is under that concept, and so
// is everything under it. There is no SNOMED CT release in the product; a deployment that wants
// the hierarchy adds SNOMED-to-SNOMED maps (README, "Concept maps").
import { SYSTEMS } from '../../translation/terminology/code-syntax.ts';
import { EQUIVALENCE } from '../../translation/terminology/concept-maps.ts';
import type { Terminology } from '../../translation/terminology/translate.ts';

const UNDER: ReadonlySet<string> = new Set([EQUIVALENCE.wider, EQUIVALENCE.subsumes, EQUIVALENCE.equal, EQUIVALENCE.equivalent]);

/** SNOMED CT code -> `system|code` tokens of the concept and every code the maps place under it. */
export function snomedDescendants(terminology: Terminology): (code: string) => readonly string[] {
  const children = new Map<string, string[]>();
  for (const m of terminology.maps) {
    if (m.map.status === 'retired') continue;
    for (const g of m.map.group) {
      if (g.target !== SYSTEMS.snomed) continue;
      for (const e of g.element)
        for (const t of e.target)
          if (t.code && UNDER.has(t.equivalence)) children.set(t.code, [...(children.get(t.code) ?? []), `${g.source}|${e.code}`]);
    }
  }
  return (code) => {
    const seen = new Set([`${SYSTEMS.snomed}|${code}`]);
    const todo = [code];
    while (todo.length > 0)
      for (const child of children.get(todo.pop()!) ?? [])
        if (!seen.has(child)) {
          seen.add(child);
          if (child.startsWith(`${SYSTEMS.snomed}|`)) todo.push(child.slice(SYSTEMS.snomed.length + 1));
        }
    return [...seen].sort();
  };
}
