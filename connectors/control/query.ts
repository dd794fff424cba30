/**
 * A source query: for a billing system backed by PostgreSQL, SQL the source's owners trust that returns the day's
 * own numbers — columns `day, event_type, currency, rows, amount` — with `$1` bound to the UTC day asked about
 * (text `YYYY-MM-DD`). Every value is read as text (no float ever holds the amount, no local-time Date the day),
 * so write `amount` as NUMERIC. The database answers for the day: no rows means a day with no events (not "not
 * reported yet"). Credentials: `url`, else BILLING_MART_CONTROL_PG_URL, else BILLING_MART_PG_URL, else PG*; never logged.
 */
import pg from 'pg';
import { FatalError, RetriableError } from '../../events/errors.js';
import { EVENT_TYPES } from '../../events/model.js';
import type { QuerySpec } from '../../config/completeness.js';
import { assertDay } from '../../partitions/index.js';
import { isRetriable, resolvePgTarget } from '../oltp/postgres.js';
import { scrub } from '../../events/redact.js';
import { aggregateControl, type ControlCell, type ControlProvider } from './provider.js';

const COLUMNS = ['day', 'event_type', 'currency', 'rows', 'amount'] as const;
const DECIMAL_RE = /^-?\d+(\.\d+)?$/;
const KNOWN = new Set<string>(EVENT_TYPES);
/** Every column as the server's text: dates stay dates, NUMERIC stays exact. */
const TEXT_TYPES = { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig;

export function sourceQuery(source: string, spec: QuerySpec, env: NodeJS.ProcessEnv = process.env): ControlProvider {
  const url = spec.url ?? env.BILLING_MART_CONTROL_PG_URL;
  const target = resolvePgTarget({ ...(url !== undefined ? { url } : {}), env });
  return {
    kind: 'query',
    origin: `SQL on ${target.display}`,
    async totals(day) {
      assertDay(day);
      const client = new pg.Client(target.config);
      client.on('error', () => undefined);
      const fail = (what: string, e: unknown): Error => {
        const msg = scrub(`${what} (control query of ${source} on ${target.display}): ${(e as Error)?.message ?? String(e)}`, target.secrets);
        return isRetriable(e) ? new RetriableError(msg, { cause: e }) : new FatalError(`${msg}; check sources[${source}].completeness.control.sql and the connection`, { cause: e });
      };
      try {
        await client.connect();
      } catch (e) {
        throw fail('cannot connect', e);
      }
      let rows: Record<string, string | null>[];
      try {
        const r = await client.query<Record<string, string | null>>({ text: spec.sql, values: [day], types: TEXT_TYPES });
        const missing = COLUMNS.filter((c) => !r.fields.some((f) => f.name === c));
        if (missing.length) throw new FatalError(`control query of ${source} returns columns ${r.fields.map((f) => f.name).join(', ') || '(none)'}: it must return ${COLUMNS.join(', ')} (missing ${missing.join(', ')})`);
        rows = r.rows;
      } catch (e) {
        if (e instanceof FatalError) throw e;
        throw fail('the control query failed', e);
      } finally {
        await client.end().catch(() => undefined);
      }
      const cells: ControlCell[] = [];
      rows.forEach((row, i) => {
        const where = `control query of ${source}, result row ${i + 1}`;
        const d = (row.day ?? '').slice(0, 10);
        if (!/^\d{4}-\d{2}-\d{2}$/.test(d)) throw new FatalError(`${where}: day ${JSON.stringify(row.day)} is not a date`);
        if (d !== day) return;
        const type = row.event_type ?? '';
        if (!KNOWN.has(type)) throw new FatalError(`${where}: event_type ${JSON.stringify(type)} is not a canonical event type`);
        const currency = row.currency ?? '';
        if (!/^[A-Za-z]{3}$/.test(currency)) throw new FatalError(`${where}: currency ${JSON.stringify(currency)} is not a 3-letter code`);
        if (!/^\d+$/.test(row.rows ?? '')) throw new FatalError(`${where}: rows ${JSON.stringify(row.rows)} is not a non-negative integer`);
        const amount = row.amount ?? '0';
        if (!DECIMAL_RE.test(amount)) throw new FatalError(`${where}: amount ${JSON.stringify(row.amount)} is not an exact decimal (return NUMERIC, not a float)`);
        cells.push({ event_type: type, currency, rows: BigInt(row.rows!), amount });
      });
      return aggregateControl(source, day, cells, { origin: `SQL on ${target.display}` });
    },
  };
}
