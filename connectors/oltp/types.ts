/**
 * OLTP metadata rows (accounts and products) as plain objects for the dimension snapshots.
 * Every value is text or null: timestamps are UTC ISO 8601 (`2024-01-03T10:00:00.000000Z`), prices are exact
 * decimal text, never a JS number.
 */

export const ACCOUNT_COLUMNS = ['account_id', 'billing_source', 'account_name', 'segment', 'country', 'currency', 'created_at', 'updated_at'] as const;
export const PRODUCT_COLUMNS = ['product_id', 'billing_source', 'product_name', 'plan_id', 'plan_name', 'list_price', 'currency', 'billing_period', 'updated_at'] as const;

export type AccountRow = { [K in (typeof ACCOUNT_COLUMNS)[number]]: K extends 'account_id' | 'billing_source' | 'account_name' | 'created_at' | 'updated_at' ? string : string | null };
export type ProductRow = { [K in (typeof PRODUCT_COLUMNS)[number]]: K extends 'product_id' | 'billing_source' | 'product_name' | 'plan_id' | 'plan_name' | 'updated_at' ? string : string | null };

/** Required (non-empty) columns; the others may be empty. */
export const ACCOUNT_REQUIRED: ReadonlySet<string> = new Set(['account_id', 'billing_source', 'account_name', 'created_at', 'updated_at']);
export const PRODUCT_REQUIRED: ReadonlySet<string> = new Set(['product_id', 'billing_source', 'product_name', 'plan_id', 'plan_name', 'updated_at']);

export interface OltpSnapshot {
  accounts: AccountRow[];
  products: ProductRow[];
  /** Where the rows came from: a redacted connection URL or the snapshot directory. */
  origin: string;
  /** When the snapshot was taken (UTC ISO), as reported by the server or the caller's clock. */
  takenAt: string;
}
