// Merkle tree hash over a contiguous range of audit row hashes, as defined by RFC 6962 (§2.1):
// leaves are SHA-256(0x00 || row hash), interior nodes SHA-256(0x01 || left || right), and a
// range of n leaves splits at the largest power of two below n. Computed incrementally, in
// O(log n) memory, so that a verifier can stream millions of rows.
import { createHash } from 'node:crypto';

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

export const merkleLeaf = (rowHash: Uint8Array): Buffer => createHash('sha256').update(LEAF).update(rowHash).digest();
export const merkleNode = (left: Uint8Array, right: Uint8Array): Buffer =>
  createHash('sha256').update(NODE).update(left).update(right).digest();

export type MerkleAccumulator = {
  add(rowHash: Uint8Array): void;
  readonly size: number;
  /** Root of the leaves added so far (SHA-256 of nothing when empty, per RFC 6962). */
  root(): Buffer;
};

export function merkleAccumulator(): MerkleAccumulator {
  // Perfect subtrees, largest first; sizes strictly decrease (a binary counter of leaves).
  const stack: { size: number; hash: Buffer }[] = [];
  let size = 0;
  return {
    add(rowHash) {
      let top = { size: 1, hash: merkleLeaf(rowHash) };
      while (stack.length > 0 && stack[stack.length - 1]!.size === top.size) {
        const left = stack.pop()!;
        top = { size: left.size * 2, hash: merkleNode(left.hash, top.hash) };
      }
      stack.push(top);
      size++;
    },
    get size() {
      return size;
    },
    root() {
      if (stack.length === 0) return createHash('sha256').digest();
      // RFC 6962's split at the largest power of two equals folding the subtrees from the right.
      let acc = stack[stack.length - 1]!.hash;
      for (let i = stack.length - 2; i >= 0; i--) acc = merkleNode(stack[i]!.hash, acc);
      return acc;
    },
  };
}

export function merkleRoot(rowHashes: readonly Uint8Array[]): Buffer {
  const acc = merkleAccumulator();
  for (const h of rowHashes) acc.add(h);
  return acc.root();
}
