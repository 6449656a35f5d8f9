// Who is calling: the verified identity the gateway forwards to every subgraph, and the input
// of every policy. Built only from verified tokens, never from client-supplied headers.
// integration: integration engineers (quarantine, lineage impact, re-processing); no patient data.
export const ROLES = ['clinician', 'analyst', 'steward', 'security', 'integration'] as const;
export type Role = (typeof ROLES)[number];

/** HL7 v3 ActReason purposes of use this product understands. */
export const PURPOSES_OF_USE = ['TREAT', 'ETREAT', 'HPAYMT', 'HOPERAT', 'PUBHLTH', 'HRESCH'] as const;
export type PurposeOfUse = (typeof PURPOSES_OF_USE)[number];

export type Principal = {
  readonly sub: string;
  /** SMART `fhirUser` (e.g. Practitioner/123) when the caller is a user; absent for system clients. */
  readonly fhirUser?: string | null;
  readonly roles: readonly Role[];
  readonly purposeOfUse: PurposeOfUse | null;
  readonly clientId: string | null;
  /** SMART scopes as granted (see smart-scopes.ts for what they permit). */
  readonly scopes: readonly string[];
  /**
   * SMART `patient` launch context, or null: a golden patient id, or `<connection id>:<FHIR Patient
   * id>` when an EHR launched the app (security/launch-context.ts). The subgraphs resolve it to the
   * only golden patient this caller may see (subgraphs/shared/launch-context.ts).
   */
  readonly patientContext: string | null;
  /** Why a clinician broke the glass (purpose ETREAT); required with it. */
  readonly breakGlassReason: string | null;
  /** Address the gateway received the request from. */
  readonly clientIp: string | null;
  /** Request id shared by the gateway and every subgraph call of one operation. */
  readonly requestId: string;
};

export const isRole = (value: unknown): value is Role => typeof value === 'string' && (ROLES as readonly string[]).includes(value);
export const isPurposeOfUse = (value: unknown): value is PurposeOfUse =>
  typeof value === 'string' && (PURPOSES_OF_USE as readonly string[]).includes(value);
export const hasRole = (p: Principal, role: Role): boolean => p.roles.includes(role);
