// `npm run compose`: recomposes gateway/supergraph.graphql from the subgraphs' SDL (after an SDL or
// config/adapters.json change); a test fails while the committed file is stale.
import { writeFileSync } from 'node:fs';
import { composeSupergraph, SUPERGRAPH_PATH } from '../gateway/compose.ts';
import { runCommand } from './cli.ts';

const COMPOSE_COMMAND = {
  name: 'compose',
  usage: 'npm run compose',
  description: "Composes the supergraph from the subgraphs' SDL and config/adapters.json and writes gateway/supergraph.graphql.",
  options: {},
  example: 'npm run compose && git diff gateway/supergraph.graphql',
} as const;

runCommand(COMPOSE_COMMAND, async () => {
  writeFileSync(SUPERGRAPH_PATH, composeSupergraph());
  process.stdout.write(`wrote ${SUPERGRAPH_PATH}\n`);
});
