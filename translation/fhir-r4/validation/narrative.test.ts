import assert from 'node:assert/strict';
import test from 'node:test';
import { errors, patient } from './test-helpers.ts';

const withDiv = (div: string, extra: Record<string, unknown> = {}): Record<string, unknown> =>
  patient({ text: { status: 'generated', div }, ...extra });
const X = 'xmlns="http://www.w3.org/1999/xhtml"';

test('narrative: basic formatting only, no scripts or event handlers', () => {
  assert.deepEqual(
    errors(withDiv(`<div ${X}><p><b>Alex</b> <a href="https://example.org">x</a></p><table><tr><td>1</td></tr></table></div>`)),
    [],
  );
  assert.deepEqual(errors(withDiv(`<div ${X}><script>x()</script></div>`)), [
    'Patient.text.div: narrative contains element <script>, which is not allowed (txt-1, txt-2)',
  ]);
  assert.deepEqual(errors(withDiv(`<div ${X}><p onclick="x()">a</p></div>`)), [
    'Patient.text.div: narrative contains attribute onclick, which is not allowed (txt-1, txt-2)',
  ]);
});

test('narrative: XML entities only, and # links resolve inside the resource', () => {
  assert.deepEqual(errors(withDiv(`<div ${X}>&lt;&amp;&#174;</div>`)), []);
  assert.deepEqual(errors(withDiv(`<div ${X}>&reg;</div>`)), [
    'Patient.text.div: narrative uses the entity &reg; which XHTML does not define',
  ]);
  assert.deepEqual(errors(withDiv(`<div ${X}><a href="#n1">see</a><p id="n1">x</p></div>`)), []);
  assert.deepEqual(errors(withDiv(`<div ${X}><a href="#elsewhere">see</a></div>`)), [
    'Patient.text.div: narrative link to a fragment that is not in the resource',
  ]);
});
