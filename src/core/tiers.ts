import { z } from 'zod';

/**
 * Target tiers (design §3). A tenant policy classifies each target into one
 * tier first, so rules can say "stricter path for privileged users" in one word.
 */
export const TIERS = ['privileged', 'executive', 'contractor', 'shared', 'service', 'standard'] as const;

export const Tier = z.enum(TIERS).describe('Target tier: ' + TIERS.join(', '));
export type Tier = z.infer<typeof Tier>;

/** The tier a target gets when no tier expression of the policy matches. */
export const FALLBACK_TIER: Tier = 'standard';
