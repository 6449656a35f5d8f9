// talisman ships no type declarations; these cover the one deep import used here.
declare module 'talisman/metrics/jaro-winkler.js' {
  /** Jaro–Winkler similarity in [0, 1] (prefix scale 0.1, boost threshold 0.7). */
  const jaroWinkler: (a: string, b: string) => number;
  export default jaroWinkler;
}
