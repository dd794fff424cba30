/**
 * The simulated world: the four billing systems, their product catalogues and their customer accounts.
 * Everything is derived from the seed. Accounts and subscriptions are kept in memory (they scale with the
 * number of customers, not the number of events).
 */
import { Rng } from './rng.js';

export interface GenSource {
  name: string;
  timezone: string;
  currencies: readonly string[];
  /** Share of the day's events this source produces. */
  weight: number;
}

/** Names and zones match config/defaults.ts. */
export const GEN_SOURCES: readonly GenSource[] = [
  { name: 'zuora', timezone: 'America/Los_Angeles', currencies: ['USD', 'EUR', 'AUD', 'JPY'], weight: 35 },
  { name: 'stripe', timezone: 'UTC', currencies: ['USD', 'EUR', 'GBP', 'JPY'], weight: 35 },
  { name: 'chargebee', timezone: 'Europe/London', currencies: ['GBP', 'EUR', 'USD'], weight: 20 },
  { name: 'recurly', timezone: 'UTC', currencies: ['USD', 'CAD'], weight: 10 },
];

export interface Product {
  productId: string;
  source: string;
  productName: string;
  planId: string;
  planName: string;
  /** Monthly list price in minor units of USD-like currencies (scaled per currency by priceFor). */
  baseMinor: bigint;
  usage: boolean;
}

export interface Account {
  accountId: string;
  source: string;
  name: string;
  segment: string;
  country: string;
  currency: string;
  createdMs: number;
}

const PRODUCT_NAMES: readonly (readonly [string, string, number, boolean])[] = [
  ['Starter', 'Starter Monthly', 1900, false],
  ['Team', 'Team Monthly', 4900, false],
  ['Business', 'Business Monthly', 19900, false],
  ['Enterprise', 'Enterprise Annual', 99000, false],
  ['API Calls', 'Metered API', 0, true],
  ['Storage', 'Metered Storage', 0, true],
];

const SEGMENTS = ['SMB', 'Mid-Market', 'Enterprise', 'Self-Serve'] as const;
const COUNTRIES_BY_CCY: Record<string, readonly string[]> = {
  USD: ['US', 'US', 'MX', 'BR'],
  EUR: ['DE', 'FR', 'NL', 'IE', 'ES'],
  AUD: ['AU'],
  JPY: ['JP'],
  GBP: ['GB'],
  CAD: ['CA'],
};
const NAME_A = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Vandelay', 'Stark', 'Wayne', 'Tyrell', 'Soylent', 'Cyberdyne', 'Wonka', 'Aperture', 'Massive', 'Oscorp'];
const NAME_B = ['Labs', 'Systems', 'Industries', 'GmbH', 'Ltd', 'Inc', 'KK', 'Pty', 'SA', 'Group', 'Analytics', 'Cloud'];

/** Minor units of a price given in "USD cents", scaled so JPY/AUD prices look realistic. */
export function priceFor(baseMinor: bigint, currency: string): bigint {
  switch (currency) {
    case 'JPY':
      return (baseMinor * 150n) / 100n; // 19.00 USD → ¥2850 (no minor unit)
    case 'AUD':
      return (baseMinor * 15n) / 10n;
    case 'EUR':
      return (baseMinor * 9n) / 10n;
    case 'GBP':
      return (baseMinor * 8n) / 10n;
    case 'CAD':
      return (baseMinor * 13n) / 10n;
    default:
      return baseMinor;
  }
}

export function productIdFor(source: string, rng: Rng, i: number): { productId: string; planId: string } {
  switch (source) {
    case 'zuora':
      return { productId: rng.hex(32), planId: rng.hex(32) };
    case 'stripe':
      return { productId: `prod_${rng.alnum(14)}`, planId: `price_${rng.alnum(24)}` };
    case 'chargebee':
      return { productId: `cbdemo_item_${i}`, planId: `cbdemo_plan_${i}-GBP-Monthly` };
    default:
      return { productId: `rc-prod-${i}`, planId: `rc-plan-${i}` };
  }
}

export function buildCatalog(seed: string, source: GenSource): Product[] {
  const rng = new Rng(seed, `catalog/${source.name}`);
  return PRODUCT_NAMES.map(([name, plan, base, usage], i) => {
    const ids = productIdFor(source.name, rng, i + 1);
    return { ...ids, source: source.name, productName: name, planName: plan, baseMinor: BigInt(base), usage };
  });
}

export function newAccount(rng: Rng, source: GenSource, createdMs: number, serial: number): Account {
  const currency = rng.pick(source.currencies);
  let accountId: string;
  switch (source.name) {
    case 'zuora':
      accountId = rng.hex(32);
      break;
    case 'stripe':
      accountId = `cus_${rng.alnum(14)}`;
      break;
    case 'chargebee':
      accountId = `cb_${rng.alnum(16)}`;
      break;
    default:
      accountId = `rc-acct-${String(serial).padStart(6, '0')}`;
  }
  return {
    accountId,
    source: source.name,
    name: `${rng.pick(NAME_A)} ${rng.pick(NAME_B)} ${serial}`,
    segment: rng.pick(SEGMENTS),
    country: rng.pick(COUNTRIES_BY_CCY[currency] ?? ['US']),
    currency,
    createdMs,
  };
}

const STRIPE_PREFIX: Record<string, string> = { sub: 'sub', inv: 'in', line: 'il', pay: 'ch', ref: 'rf', cn: 'cn', dp: 'dp', txn: 'txn', po: 'po', cus: 'cus', mrr: 'evt', adj: 'ii', tax: 'txi', disc: 'di', use: 'mbur', cba: 'cbtxn', dm: 'dbm', wo: 'wo', app: 'pyap' };

/** A record id shaped like the source's own (`kind` names the record kind, `serial` is a per-source counter). */
export function recordIdFor(source: string, rng: Rng, kind: string, serial: number): string {
  switch (source) {
    case 'zuora':
      return rng.hex(32);
    case 'stripe':
      return `${STRIPE_PREFIX[kind] ?? kind}_${rng.alnum(24)}`;
    case 'chargebee':
      return `${kind}_${rng.alnum(14)}`;
    default:
      return `${kind}-${String(serial).padStart(8, '0')}-${rng.hex(6)}`;
  }
}
