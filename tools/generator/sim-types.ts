/** Shared shapes of the simulation (subscriptions, recent payments, the event sink). */
import type { GenEvent } from './model.js';
import type { Rng } from './rng.js';
import type { Account, GenSource, Product } from './world.js';

export const DAY_MS = 86_400_000;

export interface Sub {
  id: string;
  account: Account;
  product: Product;
  quantity: bigint;
  status: 'active' | 'paused' | 'cancelled';
  version: number;
  createdMs: number;
  /** Paused once already: state-derived mappings (one PAUSED event per subscription) allow no second pause. */
  wasPaused: boolean;
}

export interface Paid {
  paymentId: string;
  account: Account;
  invoiceId: string;
  amountMinor: bigint;
  currency: string;
}

/** Where the simulation sends an event (source and attrs are filled in). */
export type Out = (e: Omit<GenEvent, 'source' | 'attrs'> & { attrs?: Record<string, string> }) => void;

/** What the billing helpers need from the simulation. */
export interface BillingSim {
  id(rng: Rng, kind: string): string;
  base(acct: Account, sub: Sub | null): { accountId: string; subscriptionId: string | null; invoiceId: string | null; productId: string | null; currency: string };
  monthly(sub: Sub): bigint;
  scale(usdCents: bigint, ccy: string): bigint;
  rememberPaid(rng: Rng, p: Paid): void;
}

/** Business activities and their relative frequency. */
export const ACTIVITIES: readonly (readonly [string, number])[] = [
  ['signup', 8],
  ['billrun', 30],
  ['usage', 8],
  ['amend', 6],
  ['cancel', 3],
  ['pause', 2],
  ['refund', 5],
  ['credit', 5],
  ['dispute', 2],
  ['void', 2],
  ['payout', 2],
  ['writeoff', 1],
];

export interface SimOptions {
  seed: string;
  source: GenSource;
  /** Accounts that exist before the first day. */
  initialAccounts: number;
  /** Called once per account as it comes to exist (the OLTP snapshot is written as the simulation goes). */
  onAccount?: (a: Account) => void;
  /** Most live subscriptions kept; at the cap, sign-ups give way to bill runs (default 200 000). */
  maxActive?: number;
  /** Size of the in-memory account sample (default 20 000). */
  accountSample?: number;
}
