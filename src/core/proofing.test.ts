import { describe, expect, it } from 'vitest';
import { proofingSatisfies, strongerProofing } from './proofing.js';

describe('proofing levels', () => {
  it('are ordered none < knowledge < callback < manager_attest < idv < in_person', () => {
    expect(proofingSatisfies('idv', 'callback')).toBe(true);
    expect(proofingSatisfies('callback', 'callback')).toBe(true);
    expect(proofingSatisfies('manager_attest', 'idv')).toBe(false);
    expect(proofingSatisfies(undefined, 'knowledge')).toBe(false);
    expect(proofingSatisfies(undefined, 'none')).toBe(true);
  });
  it('pick the stronger of two', () => {
    expect(strongerProofing('callback', 'in_person')).toBe('in_person');
    expect(strongerProofing(undefined, 'knowledge')).toBe('knowledge');
  });
});
