// Federation entry points every subgraph exposes to the gateway.
import { gatewayFederation } from './rules.ts';
import type { PolicySet } from './policy-set.ts';

export const federationPolicies = {
  Query: { _service: gatewayFederation, _entities: gatewayFederation },
  _Service: { sdl: gatewayFederation },
} as const satisfies PolicySet;
