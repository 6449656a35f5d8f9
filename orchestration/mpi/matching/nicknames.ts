// Given-name nickname groups from nicknames.json (data, not code: extend the table, not this file).
import table from './nicknames.json' with { type: 'json' };

const GROUPS: ReadonlyMap<string, readonly string[]> = (() => {
  const groups = new Map<string, Set<string>>();
  const add = (name: string, formal: string): void => {
    const set = groups.get(name) ?? new Set<string>();
    set.add(formal);
    groups.set(name, set);
  };
  for (const [formal, nicknames] of Object.entries(table as Record<string, unknown>)) {
    if (formal.startsWith('$') || !Array.isArray(nicknames)) continue;
    add(formal, formal);
    for (const n of nicknames) if (typeof n === 'string') add(n, formal);
  }
  return new Map([...groups].map(([k, v]) => [k, [...v].sort()]));
})();

/**
 * The formal names a given name belongs to (bill -> ['william'], al -> ['alan', 'albert', ...]), for its first token and its joined form.
 */
export function nicknameGroups(...names: readonly (string | null)[]): string[] {
  const out = new Set<string>();
  for (const n of names) for (const g of (n ? GROUPS.get(n) : undefined) ?? []) out.add(g);
  return [...out].sort();
}
