// Seeded randomness. mulberry32 is tiny, fast and gives the same sequence on every machine, so a
// seed and a size fully determine the population. Streams are derived from labels (person index,
// site id) so that one part of the generator never shifts the numbers another part sees.

export type Random = {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /**
   * Items earlier in the list are picked more often (lists are ordered by frequency). `flatness`
   * is the rank at which the odds have halved: larger is flatter.
   */
  skewed<T>(items: readonly T[], flatness?: number): T;
  /** Index into `weights` with probability proportional to the weight. */
  weighted(weights: readonly number[]): number;
  /** Approximately normal (sum of uniforms), for vital-sign noise. */
  normal(mean: number, sd: number): number;
  digits(n: number): string;
  shuffle<T>(items: readonly T[]): T[];
};

/** FNV-1a over the labels, then a murmur3 finaliser: a well-mixed 32-bit seed per stream. */
export function streamSeed(seed: number, ...labels: readonly (string | number)[]): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  h = Math.imul(h ^ (seed / 4294967296), 0x01000193) >>> 0;
  for (const label of labels) {
    const s = String(label);
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
    h = Math.imul(h ^ 0x2f, 0x01000193) >>> 0; // separator, so ('ab','c') differs from ('a','bc')
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  const index = (n: number): number => Math.floor(next() * n);
  return {
    next,
    int,
    chance: (p) => next() < p,
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[index(items.length)]!;
    },
    // Zipf-like: p(rank r) falls as 1/(r + flatness), so the first names repeat as in real data
    // (with 30 and ~450 family names, the most common is about 1.3% of people).
    skewed: (items, flatness = 30) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      const n = items.length;
      return items[Math.min(n - 1, Math.floor(flatness * Math.expm1(next() * Math.log1p(n / flatness))))]!;
    },
    weighted: (weights) => {
      let total = 0;
      for (const w of weights) total += w;
      let r = next() * total;
      for (let i = 0; i < weights.length; i++) {
        r -= weights[i]!;
        if (r < 0) return i;
      }
      return weights.length - 1;
    },
    normal: (mean, sd) => mean + sd * (next() + next() + next() + next() + next() + next() - 3) * Math.SQRT2,
    digits: (n) => {
      let s = '';
      for (let i = 0; i < n; i++) s += String(index(10));
      return s;
    },
    shuffle: (items) => {
      const out = [...items];
      for (let i = out.length - 1; i > 0; i--) {
        const j = index(i + 1);
        [out[i], out[j]] = [out[j]!, out[i]!];
      }
      return out;
    },
  };
}

/** A stream for one purpose: `random(seed, 'person', 17)`. */
export const random = (seed: number, ...labels: readonly (string | number)[]): Random => seededRandom(streamSeed(seed, ...labels));
