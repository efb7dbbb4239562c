import { z } from 'zod';

/**
 * How well the requester's identity was established, weakest first
 * (design §3). `callback` means a call back on a number that did not change
 * recently; `idv` is document + liveness from a verification vendor.
 */
export const PROOFING_LEVELS = ['none', 'knowledge', 'callback', 'manager_attest', 'idv', 'in_person'] as const;

export const ProofingLevel = z.enum(PROOFING_LEVELS).describe('Proofing level, weakest first: ' + PROOFING_LEVELS.join(' < '));
export type ProofingLevel = z.infer<typeof ProofingLevel>;

/** Position of a level in the order; higher is stronger. */
export function proofingRank(level: ProofingLevel): number {
  return PROOFING_LEVELS.indexOf(level);
}

/** True when `have` is at least as strong as `need`. */
export function proofingSatisfies(have: ProofingLevel | undefined, need: ProofingLevel): boolean {
  return proofingRank(have ?? 'none') >= proofingRank(need);
}

/** The stronger of two levels. */
export function strongerProofing(a: ProofingLevel | undefined, b: ProofingLevel | undefined): ProofingLevel | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return proofingRank(a) >= proofingRank(b) ? a : b;
}
