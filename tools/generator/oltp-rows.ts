/** The simulated world as OLTP metadata rows (what the company's own database holds about customers and plans). */
import type { AccountRow, ProductRow } from '../../connectors/oltp/types.js';
import { priceFor, type Account, type Product } from './world.js';

function isoMicros(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function accountRow(a: Account, updatedMs: number): AccountRow {
  return {
    account_id: a.accountId,
    billing_source: a.source,
    account_name: a.name,
    segment: a.segment,
    country: a.country,
    currency: a.currency,
    created_at: isoMicros(a.createdMs),
    updated_at: isoMicros(Math.max(a.createdMs, updatedMs)),
  };
}

function minorToText(minor: bigint, exponent: number): string {
  const neg = minor < 0n;
  const digits = (neg ? -minor : minor).toString().padStart(exponent + 1, '0');
  const int = digits.slice(0, digits.length - exponent);
  const frac = exponent ? '.' + digits.slice(digits.length - exponent) : '';
  return `${neg ? '-' : ''}${int}${frac}`;
}

export function productRow(p: Product, updatedMs: number): ProductRow {
  return {
    product_id: p.productId,
    billing_source: p.source,
    product_name: p.productName,
    plan_id: p.planId,
    plan_name: p.planName,
    list_price: p.usage ? null : minorToText(priceFor(p.baseMinor, 'USD'), 2),
    currency: p.usage ? null : 'USD',
    billing_period: p.usage ? 'usage' : p.planName.includes('Annual') ? 'year' : 'month',
    updated_at: isoMicros(updatedMs),
  };
}
