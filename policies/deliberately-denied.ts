// Fields of the supergraph that no role may read, on purpose. Listing a field here (with why)
// satisfies the policy-coverage check without granting anything: shield's fallback denies it.
// Today there are none: every field is readable by some role.
export const DELIBERATELY_DENIED: Readonly<Record<string, string>> = {};
