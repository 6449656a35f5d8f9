// The layer boundaries in eslint.config.ts are alive: each forbidden import is reported, and the
// imports the architecture allows are not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const root = fileURLToPath(new URL('../../', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function boundaryErrors(file: string, specifier: string): Promise<string[]> {
  const [result] = await eslint.lintText(`import { x } from '${specifier}';\nexport const y = x;\n`, { filePath: `${root}${file}` });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'import-x/no-restricted-paths').map((m) => m.message);
}

test('forbidden imports across layers are lint errors', async () => {
  const forbidden: [file: string, specifier: string, reason: RegExp][] = [
    ['protocol/fhir/x.ts', '../../translation/fhir-r4/clinical.ts', /layer 1/],
    ['protocol/fhir/x.ts', '../../orchestration/mpi/store.ts', /layer 1/],
    ['translation/fhir-r4/x.ts', '../../orchestration/mpi/store.ts', /layer 2/],
    ['orchestration/mpi/x.ts', '../../subgraphs/mpi/resolvers.ts', /layer 3/],
    ['subgraphs/mpi/x.ts', '../vendor-adapter/resolvers.ts', /never import each other/],
    ['subgraphs/vendor-adapter/x.ts', '../../protocol/fhir/client.ts', /only resolve/],
    ['gateway/x.ts', '../subgraphs/shared/context.ts', /gateway never imports subgraph code/],
    ['orchestration/mpi/x.ts', '../../test/support/env.ts', /never imports tests/],
  ];
  for (const [file, specifier, reason] of forbidden) {
    const errors = await boundaryErrors(file, specifier);
    assert.equal(errors.length, 1, `${file} importing ${specifier} should be refused`);
    assert.match(errors[0]!, reason);
  }
});

test('imports the architecture allows pass', async () => {
  const allowed: [file: string, specifier: string][] = [
    ['translation/fhir-r4/x.ts', '../../platform/config.ts'],
    ['orchestration/mpi/x.ts', '../../translation/fhir-r4/patient.ts'],
    ['subgraphs/mpi/x.ts', '../shared/context.ts'],
    ['subgraphs/mpi/x.ts', '../../orchestration/mpi/store.ts'],
    ['gateway/x.ts', '../schema/subgraph-sdl.ts'],
    ['orchestration/mpi/x.test.ts', '../../test/support/env.ts'],
  ];
  for (const [file, specifier] of allowed) assert.deepEqual(await boundaryErrors(file, specifier), [], `${file} importing ${specifier}`);
});
