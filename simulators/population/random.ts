// A small seeded PRNG (mulberry32): the same seed gives the same population on every machine.
export type Random = {
  next(): number;
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
  /** Zipf-like skew: early items are picked far more often (common family names). */
  skewed<T>(items: readonly T[]): T;
  digits(n: number): string;
};

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
  return {
    next,
    int,
    pick: (items) => items[Math.floor(next() * items.length)]!,
    chance: (p) => next() < p,
    skewed: (items) => items[Math.min(items.length - 1, Math.floor(items.length * next() ** 2.5))]!,
    digits: (n) => Array.from({ length: n }, () => int(0, 9)).join(''),
  };
}
