// Composes the static supergraph from the subgraphs' SDL with @apollo/composition.
// The result is committed (gateway/supergraph.graphql) so the gateway, Apollo Router or Hive
// Gateway can serve it without reaching the subgraphs; a test fails when it is stale.
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultPorts, loadAdapters, type AdapterConfig } from '../platform/config.ts';
import { auditTypeDefs, clinicalTypeDefs, integrationTypeDefs, mpiTypeDefs, vendorAdapterTypeDefs } from '../schema/subgraph-sdl.ts';

export const SUPERGRAPH_PATH = fileURLToPath(new URL('./supergraph.graphql', import.meta.url));

export type SubgraphDefinition = { readonly name: string; readonly typeDefs: string };

/** Every subgraph of the product: the MPI, one per vendor adapter, the audit log and the merged clinical view. */
export function subgraphDefinitions(adapters: readonly AdapterConfig[] = loadAdapters()): SubgraphDefinition[] {
  return [
    { name: 'mpi', typeDefs: mpiTypeDefs(adapters) },
    ...adapters.map((a) => ({ name: a.name, typeDefs: vendorAdapterTypeDefs(a) })),
    { name: 'audit', typeDefs: auditTypeDefs() },
    { name: 'clinical', typeDefs: clinicalTypeDefs() },
    { name: 'integration', typeDefs: integrationTypeDefs() },
  ];
}

/** The supergraph SDL. URLs are the embedded defaults; the gateway overrides them from configuration. */
export function composeSupergraph(adapters: readonly AdapterConfig[] = loadAdapters()): string {
  const ports = defaultPorts(adapters, {});
  const fixed: Readonly<Record<string, number>> = {
    mpi: ports.mpi,
    audit: ports.audit,
    clinical: ports.clinical,
    integration: ports.integration,
  };
  const portOf = (name: string): number => fixed[name] ?? ports.adapters[name] ?? 0;
  const result = composeServices(
    subgraphDefinitions(adapters).map((s) => ({
      name: s.name,
      url: `http://127.0.0.1:${portOf(s.name)}/graphql`,
      typeDefs: parse(s.typeDefs),
    })),
  );
  if (result.errors) {
    throw new Error(`supergraph composition failed:\n${result.errors.map((e) => `- ${e.message}`).join('\n')}`);
  }
  return result.supergraphSdl;
}

export const readCommittedSupergraph = (): string => readFileSync(SUPERGRAPH_PATH, 'utf8');
