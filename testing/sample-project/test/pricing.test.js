import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyDiscount, cartTotal } from '../src/pricing.js';

test('applies a percentage discount', () => {
  assert.equal(applyDiscount(200, 25), 150);
  assert.equal(applyDiscount(19.99, 10), 17.99);
});

test('rejects a percentage outside 0..100', () => {
  assert.throws(() => applyDiscount(10, 120), RangeError);
});

test('sums a cart', () => {
  assert.equal(cartTotal([{ price: 2.5, quantity: 2 }, { price: 1, quantity: 3 }]), 8);
});
