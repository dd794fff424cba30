/**
 * PostgreSQL OLTP connector: accounts and products read as ONE consistent snapshot (a single
 * REPEATABLE READ READ ONLY transaction), so a product renamed between the two queries cannot tear the pair.
 * Credentials come from an explicit URL, else BILLING_MART_PG_URL, else the standard PG* variables (PGHOST,
 * PGPORT, PGUSER, PGPASSWORD, PGDATABASE), and are never logged: every message is scrubbed.
 */
import pg from 'pg';
import { FatalError, RetriableError } from '../../events/errors.js';
import { redactUrl, scrub, urlPassword } from '../../events/redact.js';
import { ACCOUNT_COLUMNS, PRODUCT_COLUMNS, type AccountRow, type OltpSnapshot, type ProductRow } from './types.js';

export interface PgSourceOptions {
  /** postgres://user:password@host:port/db; default BILLING_MART_PG_URL, else PG* variables. */
  url?: string;
  env?: NodeJS.ProcessEnv;
  /** Table names (schema-qualified allowed). */
  accountsTable?: string;
  productsTable?: string;
  connectTimeoutMs?: number;
  statementTimeoutMs?: number;
}

export interface ResolvedPgTarget {
  config: pg.ClientConfig;
  /** Human description with the password replaced by ***. */
  display: string;
  secrets: string[];
}

/** Works out where to connect and how to describe it without leaking the password. */
export function resolvePgTarget(o: PgSourceOptions = {}): ResolvedPgTarget {
  const env = o.env ?? process.env;
  const url = o.url ?? env.BILLING_MART_PG_URL;
  const timeouts = { connectionTimeoutMillis: o.connectTimeoutMs ?? 10_000, statement_timeout: o.statementTimeoutMs ?? 300_000 };
  if (url) {
    if (!/^postgres(ql)?:\/\//i.test(url)) {
      throw new FatalError(`OLTP connection URL ${redactUrl(url)} is not a postgres:// URL: set BILLING_MART_PG_URL (or oltp.url) to postgres://USER:PASSWORD@HOST:PORT/DATABASE`);
    }
    return { config: { connectionString: url, ...timeouts }, display: redactUrl(url), secrets: [urlPassword(url) ?? ''].filter(Boolean) };
  }
  const host = env.PGHOST ?? 'localhost';
  const port = env.PGPORT ?? '5432';
  const user = env.PGUSER ?? env.USER ?? 'postgres';
  const database = env.PGDATABASE ?? user;
  const config: pg.ClientConfig = { host, port: Number(port), user, database, ...timeouts };
  if (env.PGPASSWORD !== undefined) config.password = env.PGPASSWORD;
  return { config, display: `postgres://${user}${env.PGPASSWORD ? ':***' : ''}@${host}:${port}/${database}`, secrets: env.PGPASSWORD ? [env.PGPASSWORD] : [] };
}

const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;
function quoteTable(name: string): string {
  if (!IDENT_RE.test(name)) throw new FatalError(`OLTP table name ${JSON.stringify(name)} is not a plain identifier (schema.table)`);
  return name
    .split('.')
    .map((p) => `"${p}"`)
    .join('.');
}

const utcText = (expr: string) => `to_char(${expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const UTC_TEXT = (col: string) => `${utcText(col)} AS ${col}`;

export function accountsQuery(table = 'accounts'): string {
  const cols = ACCOUNT_COLUMNS.map((c) => (c === 'created_at' || c === 'updated_at' ? UTC_TEXT(c) : `${c}::text AS ${c}`));
  return `SELECT ${cols.join(', ')} FROM ${quoteTable(table)} ORDER BY account_id`;
}

export function productsQuery(table = 'products'): string {
  const cols = PRODUCT_COLUMNS.map((c) => (c === 'updated_at' ? UTC_TEXT(c) : `${c}::text AS ${c}`));
  return `SELECT ${cols.join(', ')} FROM ${quoteTable(table)} ORDER BY product_id`;
}

/** Network/server-availability failures are worth retrying; SQL and auth errors are not. */
export function isRetriable(e: unknown): boolean {
  const code = (e as { code?: string })?.code ?? '';
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', '57P01', '57P03', '53300', '08006', '08001', '40001'].includes(code) ||
    /timeout|terminated unexpectedly|Connection terminated/i.test((e as Error)?.message ?? '');
}

/** Reads accounts and products in one REPEATABLE READ READ ONLY transaction. */
export async function readPgSnapshot(o: PgSourceOptions = {}): Promise<OltpSnapshot> {
  const target = resolvePgTarget(o);
  const client = new pg.Client(target.config);
  const fail = (what: string, e: unknown): Error => {
    const msg = scrub(`${what} on ${target.display}: ${(e as Error)?.message ?? String(e)}`, target.secrets);
    const hint = isRetriable(e) ? '' : ' (check the URL/PG* variables, the credentials and that the accounts and products tables exist)';
    return isRetriable(e) ? new RetriableError(msg) : new FatalError(msg + hint);
  };
  // pg emits 'error' on an idle client when the server goes away; turn it into a rejected query instead of a crash.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (e) {
    throw fail('cannot connect to the OLTP database', e);
  }
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const now = await client.query<{ t: string }>(`SELECT ${utcText('transaction_timestamp()')} AS t`);
    const accounts = await client.query<AccountRow>(accountsQuery(o.accountsTable));
    const products = await client.query<ProductRow>(productsQuery(o.productsTable));
    await client.query('COMMIT');
    return { accounts: accounts.rows, products: products.rows, origin: target.display, takenAt: now.rows[0]!.t };
  } catch (e) {
    await client.query('ROLLBACK').catch((re: unknown) => {
      // the original failure is the one to report; note the rollback failure in it
      (e as { rollbackError?: unknown }).rollbackError = re;
    });
    throw fail('reading the OLTP snapshot failed', e);
  } finally {
    await client.end().catch((e: unknown) => {
      process.emitWarning(scrub(`closing the OLTP connection failed: ${(e as Error).message}`, target.secrets));
    });
  }
}
