/**
 * Price after a percentage discount, rounded to cents.
 * @param {number} price
 * @param {number} percent 0..100
 */
export function applyDiscount(price, percent) {
  if (percent < 0 || percent > 100) throw new RangeError('percent must be between 0 and 100');
  const discounted = price - price * percent;
  return Math.round(discounted * 100) / 100;
}

/** Sum of line totals of a cart. */
export function cartTotal(lines) {
  return lines.reduce((sum, line) => sum + line.price * line.quantity, 0);
}
