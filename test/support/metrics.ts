// Reading Prometheus' text exposition format in tests.

/** The value of one series in the exposition text, or undefined. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? '').split(/,(?=[a-zA-Z_]+=")/).filter(Boolean);
    if (wanted.every((w) => have.includes(w)) && have.length === wanted.length) return Number(match[3]);
  }
  return undefined;
}

/** Every distinct value a label takes in one metric family. */
export function labelValues(text: string, name: string, label: string): Set<string> {
  const values = new Set<string>();
  const re = new RegExp(`^${name}(?:_bucket|_count|_sum)?\\{[^}]*\\b${label}="([^"]*)"`, 'gm');
  for (const m of text.matchAll(re)) values.add(m[1]!);
  return values;
}
