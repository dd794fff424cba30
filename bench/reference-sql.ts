/**
 * The DuckDB reference, the pure part: for each (source, object) of the generated landing zone, a SELECT that
 * reads its files, converts the event timestamp to UTC in SQL (naive local time via strptime + timezone(zone, ..),
 * epoch seconds via to_timestamp) and casts the amount to DECIMAL(38,9); all of them UNION ALL'ed into one
 * `COPY ... TO dir (FORMAT parquet, PARTITION_BY (event_date))`. This is the raw data movement a native engine
 * does, without our checks (no dedupe, no quarantine, no lineage, no commit protocol).
 */

export type RefFormat = 'csv' | 'jsonl' | 'pages';

export interface RefObject {
  source: string;
  /** File prefix in the landing zone (`<object>.<ext>` and `<object>-<suffix>.<ext>`). */
  object: string;
  format: RefFormat;
  id: string;
  /** Column holding the event time. */
  ts: string;
  /** How `ts` is written: a strptime format in `zone` (naive local time), or epoch seconds. */
  tsKind: { strptime: string[]; zone: string } | 'epoch_s';
  amount: string | null;
  /** 'major' units, or 'minor' (divided by the currency's minor-unit factor). */
  unit: 'major' | 'minor';
  currency: string | null;
  /** JSON lines: the other columns' names (read as VARCHAR). */
  columns?: string[];
}

const ZUORA_TS = { strptime: ['%Y-%m-%d %H:%M:%S.%f', '%Y-%m-%d %H:%M:%S', '%Y-%m-%d'], zone: 'America/Los_Angeles' };
/** Recurly through Fivetran: naive UTC datetimes. */
const RECURLY_TS = { strptime: ['%Y-%m-%d %H:%M:%S'], zone: 'UTC' };
const recurly = (object: string, ts: string, amount: string | null, currency: string | null): RefObject => ({ source: 'recurly', object, format: 'csv', id: 'id', ts, tsKind: RECURLY_TS, amount, unit: 'major', currency });

const zuora = (object: string, ts: string, amount: string | null, currency: string | null): RefObject => ({ source: 'zuora', object, format: 'csv', id: 'id', ts, tsKind: ZUORA_TS, amount, unit: 'major', currency });
const stripe = (object: string, ts: string, amount: string | null, currency: string | null): RefObject => ({ source: 'stripe', object, format: 'jsonl', id: 'id', ts, tsKind: 'epoch_s', amount, unit: 'minor', currency });
const chargebee = (object: string, ts: string, amount: string | null, currency: string | null): RefObject => ({ source: 'chargebee', object, format: 'pages', id: 'id', ts, tsKind: 'epoch_s', amount, unit: 'minor', currency });

/** The objects the generator writes (tools/generator/render-*.ts), with the columns the mappings use. */
export const REFERENCE_OBJECTS: readonly RefObject[] = [
  zuora('account', 'created_date', null, 'currency'),
  zuora('invoice', 'posted_date', 'amount', 'transaction_currency'),
  zuora('invoice_item', 'charge_date', 'charge_amount', 'transaction_currency'),
  zuora('invoice_payment', 'created_date', 'amount', 'transaction_currency'),
  zuora('payment', 'created_date', 'amount', 'currency'),
  zuora('refund', 'created_date', 'amount', 'currency'),
  zuora('credit_balance_adjustment', 'created_date', 'amount', 'transaction_currency'),
  zuora('taxation_item', 'created_date', 'tax_amount', 'transaction_currency'),
  zuora('amendment', 'created_date', null, null),
  zuora('subscription', 'created_date', null, null),
  stripe('charge', 'created', 'amount', 'currency'),
  stripe('refund', 'created', 'amount', 'currency'),
  stripe('balance_transaction', 'created', 'fee', 'currency'),
  stripe('invoice', 'created', 'total', 'currency'),
  stripe('invoice_line_item', 'period.start', 'amount', 'currency'),
  stripe('credit_note', 'created', 'total', 'currency'),
  stripe('dispute', 'created', 'amount', 'currency'),
  stripe('payout', 'created', 'amount', 'currency'),
  stripe('discount', 'start', null, null),
  chargebee('invoice', 'date', 'total', 'currency_code'),
  chargebee('credit_note', 'date', 'total', 'currency_code'),
  chargebee('transaction', 'date', 'amount', 'currency_code'),
  chargebee('subscription', 'created_at', null, 'currency_code'),
  chargebee('event', 'occurred_at', null, null),
  recurly('transaction', 'created_at', 'amount', 'currency'),
  recurly('invoice_history', 'created_at', 'total', 'currency'),
  recurly('line_item_history', 'start_date', 'subtotal', 'currency'),
  recurly('subscription_history', 'activated_at', null, 'currency'),
  recurly('subscription_change_history', 'activate_at', null, null),
  recurly('account_history', 'created_at', null, null),
];

/** ISO 4217 currencies without minor units (the generator uses JPY; the others for completeness). */
const ZERO_DECIMAL = ['JPY', 'KRW', 'VND', 'CLP', 'ISK', 'UGX', 'XAF', 'XOF'];

export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** `<format>.<ext>` → the extension the generator writes. */
export function extensionOf(format: RefFormat): string {
  return format === 'csv' ? 'csv' : format === 'jsonl' ? 'jsonl' : 'json';
}

/** True when a landing file name belongs to the object (`invoice.csv`, `invoice-p3.json`, not `invoice_item.csv`). */
export function fileMatches(o: RefObject, name: string): boolean {
  const ext = extensionOf(o.format);
  return name === `${o.object}.${ext}` || (name.startsWith(`${o.object}-`) && name.endsWith(`.${ext}`));
}

function tsSql(o: RefObject, col: string): string {
  if (o.tsKind === 'epoch_s') return `to_timestamp(TRY_CAST(${col} AS BIGINT))`;
  const formats = `[${o.tsKind.strptime.map(sqlString).join(', ')}]`;
  return `timezone(${sqlString(o.tsKind.zone)}, try_strptime(${col}, ${formats}))`;
}

function amountSql(o: RefObject, amount: string | null, currency: string | null): string {
  if (!amount) return 'CAST(0 AS DECIMAL(38,9))';
  const dec = `TRY_CAST(${amount} AS DECIMAL(38,9))`;
  if (o.unit === 'major' || !currency) return dec;
  return `CASE WHEN upper(${currency}) IN (${ZERO_DECIMAL.map(sqlString).join(', ')}) THEN ${dec} ELSE CAST(${dec} / 100 AS DECIMAL(38,9)) END`;
}

/** The rows of one object: billing_source, object, record_id, event_ts (UTC), event_date (UTC), amount, currency. */
export function objectSelect(o: RefObject, files: readonly string[]): string {
  const list = `[${files.map(sqlString).join(', ')}]`;
  let from: string;
  let col: (c: string) => string;
  if (o.format === 'csv') {
    from = `read_csv(${list}, header = true, all_varchar = true, union_by_name = true, ignore_errors = true, null_padding = true)`;
    col = (c) => ident(c);
  } else if (o.format === 'jsonl') {
    // Top-level columns as VARCHAR; a dotted path (`period.start`) reads its root as JSON and extracts from it.
    const paths = [o.id, o.ts, ...(o.amount ? [o.amount] : []), ...(o.currency ? [o.currency] : [])];
    const types = new Map<string, string>();
    for (const p of paths) {
      const [root, ...rest] = p.split('.');
      if (rest.length || types.get(root!) === 'JSON') types.set(root!, 'JSON');
      else types.set(root!, 'VARCHAR');
    }
    from = `read_json(${list}, format = 'newline_delimited', ignore_errors = true, columns = {${[...types].map(([c, t]) => `${ident(c)}: '${t}'`).join(', ')}})`;
    col = (c) => {
      const [root, ...rest] = c.split('.');
      return rest.length ? `(${ident(root!)} ->> ${sqlString(rest.join('.'))})` : ident(c);
    };
  } else {
    // One JSON document per file: {"list": [{"<object>": {...}}, ...]}; records extracted as JSON.
    from = `(SELECT unnest("list") -> ${sqlString(o.object)} AS r FROM read_json(${list}, format = 'auto', ignore_errors = true, maximum_object_size = 16777216, columns = {list: 'JSON[]'}))`;
    col = (c) => `(r ->> ${sqlString(c)})`;
  }
  const ts = tsSql(o, col(o.ts));
  const currency = o.currency ? col(o.currency) : null;
  return [
    `SELECT ${sqlString(o.source)} AS billing_source, ${sqlString(o.object)} AS object, ${col(o.id)} AS record_id,`,
    `  ${ts} AS event_ts, CAST(timezone('UTC', ${ts}) AS DATE) AS event_date,`,
    `  ${amountSql(o, o.amount ? col(o.amount) : null, currency)} AS amount, ${currency ? `upper(${currency})` : 'NULL'} AS currency`,
    `FROM ${from}`,
  ].join('\n');
}

/** The whole reference: one COPY over every object that has files. */
export function referenceCopySql(parts: readonly { object: RefObject; files: readonly string[] }[], outDir: string): string {
  const selects = parts.filter((p) => p.files.length > 0).map((p) => objectSelect(p.object, p.files));
  if (selects.length === 0) throw new Error('the DuckDB reference found no landing files to read: is the landing zone empty?');
  return `COPY (\n${selects.join('\nUNION ALL\n')}\n) TO ${sqlString(outDir)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (event_date), OVERWRITE_OR_IGNORE)`;
}
