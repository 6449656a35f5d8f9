// The server's self-description: the CapabilityStatement at `<base>/metadata` and the SMART
// configuration at `<base>/.well-known/smart-configuration` (token endpoint discovery).
import type { Vendor } from '../population/model.ts';
import { STANDARD } from '../vendors/constants.ts';
import { SIGNING_ALGORITHMS } from './auth.ts';
import { SEARCH_PARAMS } from './search.ts';
import { RESOURCE_TYPES } from './store.ts';

const SOFTWARE: Readonly<Record<Vendor, { readonly name: string; readonly version: string }>> = {
  epic: { name: 'Epic', version: 'May 2025 (simulated)' },
  cerner: { name: 'Oracle Health Millennium Platform', version: '2025.01 (simulated)' },
  athenahealth: { name: 'athenaOne', version: '25.10 (simulated)' },
};

export type CapabilityInput = {
  readonly vendor: Vendor;
  readonly siteId: string;
  readonly baseUrl: string;
  readonly tokenUrl: string;
  readonly softwareVersion?: string;
};

export function capabilityStatement(c: CapabilityInput): Record<string, unknown> {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2025-10-01',
    publisher: 'patient-federation-gateway EHR simulator',
    kind: 'instance',
    software: { name: SOFTWARE[c.vendor].name, version: c.softwareVersion ?? SOFTWARE[c.vendor].version },
    implementation: {
      description: `Simulated ${SOFTWARE[c.vendor].name} FHIR R4 server for site ${c.siteId} (synthetic data)`,
      url: c.baseUrl,
    },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [
      {
        mode: 'server',
        security: {
          extension: [{ url: STANDARD.smartOauthUris, extension: [{ url: 'token', valueUri: c.tokenUrl }] }],
          service: [
            {
              coding: [{ system: STANDARD.restfulSecurityService, code: 'SMART-on-FHIR', display: 'SMART-on-FHIR' }],
              text: 'OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)',
            },
          ],
        },
        resource: RESOURCE_TYPES.map((type) => ({
          type,
          interaction: [{ code: 'read' }, { code: 'search-type' }],
          searchParam: SEARCH_PARAMS[type].map((p) => ({ name: p.name, type: p.type })),
        })),
      },
    ],
  };
}

export function smartConfiguration(tokenUrl: string): Record<string, unknown> {
  return {
    token_endpoint: tokenUrl,
    grant_types_supported: ['client_credentials'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: [...SIGNING_ALGORITHMS],
    scopes_supported: ['system/*.read', 'system/*.rs', ...RESOURCE_TYPES.flatMap((t) => [`system/${t}.read`, `system/${t}.rs`])],
    response_types_supported: ['token'],
    capabilities: ['client-confidential-asymmetric'],
  };
}
