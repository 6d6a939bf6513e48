// How JavaScript values reach the whole snippet's wasm (www/whole.js `encodeValue`): core's compiled
// value bytes, strictly for `attributes()` and stored JSON, within bounds for `track()` props. Plain
// Node: the walk touches no browser API. core/src/compiled.rs checks the same fixture against its
// own encoder and decoder.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { encodeValue } from '../../www/whole.js';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/values/compiled-value.json', import.meta.url), 'utf8'));
const bytes = (value, props) => Array.from(encodeValue(value, props)[0]);
// What the props walk made of `props`, as the bytes of the plain value it should equal, and whether it trimmed.
const asProps = (props) => {
  const [read, trimmed] = encodeValue(props, true);
  return [Array.from(read), trimmed];
};

test('every JSON type is written as core reads it (the fixture core/src/compiled.rs checks too)', () => {
  assert.deepEqual(bytes(fixture.value), fixture.bytes);
  assert.deepEqual(asProps(fixture.value.tags ? { tags: fixture.value.tags } : {}), [bytes({ tags: fixture.value.tags }), false]);
});

test('strictly, a function is refused with the path where it stood, and deep nesting too', () => {
  assert.throws(() => encodeValue({ a: { b: [0, () => 1] } }), /a\.b\[1\] is a function, not a JSON value/);
  assert.throws(() => encodeValue(() => 1), /the value is a function/);
  let deep = [];
  for (let i = 0; i < 40; i++) deep = [deep];
  assert.throws(() => encodeValue(deep), /nested deeper than 32 levels/);
  const cyclic = {};
  cyclic.self = cyclic;
  assert.throws(() => encodeValue(cyclic), /nested deeper/);
  // undefined reads as null, as it did through wasm-bindgen.
  assert.deepEqual(bytes({ u: undefined }), bytes({ u: null }));
});

test('props: odd values are trimmed, never thrown, and the flag says so', () => {
  assert.deepEqual(asProps({ n: 1, s: 'x' }), [bytes({ n: 1, s: 'x' }), false]);
  // Functions and undefined in an object are left out (as JSON.stringify does); NaN becomes null.
  assert.deepEqual(asProps({ f() {}, u: undefined, nan: NaN, inf: -Infinity }), [bytes({ nan: null, inf: null }), true]);
  // Left out without trimming: undefined only.
  assert.deepEqual(asProps({ u: undefined, z: null }), [bytes({ z: null }), false]);
  // Long strings and keys cut to 1000 UTF-16 units.
  assert.deepEqual(asProps({ s: 'y'.repeat(1500) }), [bytes({ s: 'y'.repeat(1000) }), true]);
  // At most 4 levels: a cycle ends there.
  const cyclic = { a: 1 };
  cyclic.self = cyclic;
  assert.deepEqual(asProps(cyclic), [bytes({ a: 1, self: { a: 1, self: { a: 1, self: { a: 1, self: null } } } }), true]);
  // At most 200 values in all.
  const [many, cut] = asProps({ list: Array.from({ length: 500 }, (_, i) => i) });
  assert.equal(cut, true);
  assert.ok(many.length < 200 * 9 + 20, 'the walk stopped at its bound');
});

test('props: symbols, non-enumerable keys, throwing getters and a hostile Proxy cost values, not the call', () => {
  const odd = { kept: 1, [Symbol('s')]: 2 };
  Object.defineProperty(odd, 'hidden', { value: 3, enumerable: false });
  Object.defineProperty(odd, 'boom', { get: () => { throw new Error('getter'); }, enumerable: true });
  assert.deepEqual(asProps(odd), [bytes({ kept: 1 }), true]);
  const hostile = new Proxy({}, { ownKeys: () => { throw new Error('trap'); } });
  assert.deepEqual(asProps({ p: hostile }), [bytes({ p: null }), true]);
});
