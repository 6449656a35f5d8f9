// SNOMED CT identifiers (SCTIDs): 6 to 18 digits, no leading zero, a partition identifier and a
// Verhoeff check digit (SNOMED CT Technical Implementation Guide, section 6). A long-format id (partition
// digit 1) carries the namespace of the extension that issued it (and keeps it when the concept is
// promoted to the International Edition, so the namespace says nothing about the edition).
const D = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
  [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
  [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
  [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
  [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
  [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
  [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
  [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
  [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
] as const;
const P = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
  [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
  [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
  [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
  [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
  [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
  [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
] as const;

export function verhoeffValid(digits: string): boolean {
  let c = 0;
  const n = digits.length;
  for (let i = 0; i < n; i++) {
    const d = digits.charCodeAt(n - 1 - i) - 48;
    c = D[c]![P[i % 8]![d]!]!;
  }
  return c === 0;
}

export const SCTID_KIND = { concept: '0', description: '1', relationship: '2' } as const;

export type SctidShape =
  { readonly valid: false; readonly reason: string } | { readonly valid: true; readonly kind: string; readonly namespace: string | null };

/** The shape of an SCTID: valid syntax, its item kind and (long format) its namespace. */
export function sctidShape(id: string): SctidShape {
  if (!/^[1-9]\d{5,17}$/.test(id)) return { valid: false, reason: 'not 6 to 18 digits without a leading zero' };
  if (!verhoeffValid(id)) return { valid: false, reason: 'check digit does not match' };
  const format = id.at(-3);
  const kind = id.at(-2) ?? '';
  if ((format !== '0' && format !== '1') || !['0', '1', '2'].includes(kind))
    return { valid: false, reason: 'invalid partition identifier' };
  return { valid: true, kind, namespace: format === '1' ? id.slice(-10, -3) : null };
}
