import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import test from 'node:test';
import { validateResource } from '../fhir-r4/validation/validate.ts';
import { ConceptMapError, conceptMapDirs, loadConceptMaps, parseConceptMap } from './concept-maps.ts';
import { buildTerminology, loadTerminology, translate } from './translate.ts';

const LOINC = 'http://loinc.org';
const LOCAL = 'urn:oid:1.2.3.4.5';

const map = (id: string, elements: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  resourceType: 'ConceptMap',
  id,
  url: `urn:test:ConceptMap:${id}`,
  version: '1',
  status: 'active',
  group: [{ source: LOCAL, target: LOINC, element: elements }],
  ...extra,
});
const el = (code: string, target: string | undefined, equivalence = 'equivalent', more: Record<string, unknown> = {}): unknown => ({
  code,
  target: [{ ...(target !== undefined ? { code: target } : {}), equivalence, ...more }],
});

function withDir<T>(files: Record<string, unknown>, f: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-maps-'));
  try {
    for (const [name, content] of Object.entries(files)) {
      writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
    }
    return f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const startError = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ConceptMapError, String(e));
    return e.message.replace(/\/tmp\/pgw-maps-\w+\//g, '');
  }
  assert.fail('expected a ConceptMapError');
};

test('the shipped concept maps load, and each is a valid FHIR R4 ConceptMap', () => {
  const maps = loadConceptMaps();
  assert.ok(maps.length >= 9);
  for (const m of maps) {
    assert.match(m.file, /^config\/concept-maps\/[a-z0-9-]+\.json$/);
    assert.equal(m.canonical, `${m.map.url}|${m.map.version}`);
    const errors = validateResource(m.map).filter((i) => i.severity === 'error');
    assert.deepEqual(errors, [], m.file);
  }
});

test('a broken map is a start-up error naming the file and the element', () => {
  const cases: [unknown, string][] = [
    ['{ not json', 'concept map bad.json: cannot be read as JSON'],
    [{ ...map('x', [el('1', '2345-7')]), resourceType: 'ValueSet' }, 'concept map bad.json: resourceType: must be "ConceptMap"'],
    [map('x', [el('1', '2345-7')], { version: undefined }), 'concept map bad.json: version: is required'],
    [map('x', [el('1', '2345-8')]), 'concept map bad.json: group[0].element[0].target[0].code: check digit does not match'],
    [map('x', [el('1', '2345-7', 'same-ish')]), 'concept map bad.json: group[0].element[0].target[0].equivalence: is required'],
    [map('x', [el('1', '2345-7', 'narrower')]), 'concept map bad.json: group[0].element[0].target[0].comment: a comment is required'],
    [map('x', [el('1', '2345-7', 'unmatched')]), 'concept map bad.json: group[0].element[0].target[0].code: must be absent'],
    [
      map('x', [el('1', '2345-7'), el('1', '2339-0')]),
      'concept map bad.json: group[0].element[1].code: the same source code appears twice',
    ],
    [
      { ...map('x', []), group: [{ source: LOCAL, target: LOINC, unmapped: { mode: 'fixed', code: 'x' }, element: [el('1', '2345-7')] }] },
      'concept map bad.json: group[0].unmapped: is not supported',
    ],
  ];
  for (const [content, expected] of cases) {
    const message = withDir({ 'bad.json': content }, (dir) => startError(() => loadConceptMaps([dir])));
    assert.ok(message.startsWith(expected), `${message}\n  expected: ${expected}`);
  }
});

test('two maps claiming one url, or one source code into one target system, stop the start naming both files', () => {
  const a = map('a', [el('1', '2345-7')]);
  const sameUrl = withDir({ 'a.json': a, 'b.json': { ...map('b', [el('2', '2339-0')]), url: a.url } }, (dir) =>
    startError(() => loadConceptMaps([dir])),
  );
  assert.match(sameUrl, /b\.json: url: is also the url of .*a\.json/);
  const conflict = withDir({ 'a.json': a, 'b.json': map('b', [el('1', '2339-0')]) }, (dir) => startError(() => loadTerminology([dir])));
  assert.match(conflict, /b\.json: group\[0\]\.element\[0\]\.code: is already mapped to the same target system by .*a\.json/);
});

test('a deployment adds maps without code: CONCEPT_MAP_DIRS lists the directories', () => {
  const root = mkdtempSync(join(tmpdir(), 'pgw-maps-'));
  try {
    const own = join(root, 'site-maps');
    mkdirSync(own);
    writeFileSync(join(own, 'site-labs.json'), JSON.stringify(map('site-labs', [el('GLU', '2345-7')])));
    const dirs = conceptMapDirs({ CONCEPT_MAP_DIRS: ['config/concept-maps', own].join(delimiter) });
    const terminology = loadTerminology(dirs);
    assert.ok(terminology.maps.some((m) => m.map.id === 'epic-observations'));
    const r = translate({ system: LOCAL, code: 'GLU' }, { terminology });
    assert.deepEqual(r.mapped, [{ system: LOINC, code: '2345-7' }]);
    assert.deepEqual(
      conceptMapDirs({}).map((d) => d.endsWith('config/concept-maps')),
      [true],
    );
    assert.throws(() => loadConceptMaps([join(root, 'missing')]), /the concept map directory cannot be read/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('parseConceptMap accepts a map and a retired map is not applied', () => {
  const m = parseConceptMap(map('r', [el('1', '2345-7')], { status: 'retired' }), 'r.json');
  const terminology = buildTerminology([{ file: 'r.json', map: m, canonical: `${m.url}|${m.version}` }]);
  assert.equal(translate({ system: LOCAL, code: '1' }, { terminology }).unmapped, true);
});
