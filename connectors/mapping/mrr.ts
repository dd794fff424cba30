/**
 * MRR observations from records (the `mrr:` clause of an object, config/mrr.ts): one record → the absolute MRR of
 * one subscription at one version (events/mrr.ts turns observations into deltas at ingest), or nothing when the
 * record states no MRR, or a RecordError (the record goes to quarantine whole, with its events: a record ends in
 * exactly one place). Money stays exact: amount × quantity and sums over items are decimal arithmetic.
 */
import { RecordError } from '../../events/errors.js';
import { Decimal, Money } from '../../events/money.js';
import type { MrrObservation } from '../../events/mrr.js';
import type { ObjectSpec, SourceConfig } from '../../config/sources.js';
import { asList, firstPresent, getPath, textOf } from '../paths.js';
import { locOf, type RawRecord } from '../types.js';
import { whenMatches } from './conditions.js';
import { readCurrency, readIntegerSeqn, readMoney, readTimestamp } from './values.js';

export type MrrObserver = (record: RawRecord) => MrrObservation | null;

/** An observer for the source's objects that declare `mrr:`; null when none does. Throws RecordError. */
export function compileMrrObserver(source: SourceConfig): MrrObserver | null {
  const specs = new Map<string, { spec: ObjectSpec; zone: string }>();
  for (const o of source.objects) if (o.mrr) specs.set(o.object, { spec: o, zone: o.timezone ?? source.timezone });
  if (!specs.size) return null;
  return (r) => {
    const c = specs.get(r.object);
    if (!c || r.parseError) return null;
    return observe(source.name, c.spec, c.zone, r);
  };
}

function observe(sourceName: string, spec: ObjectSpec, zone: string, r: RawRecord): MrrObservation | null {
  const m = spec.mrr!;
  const data = r.data;
  if (m.when !== undefined && !whenMatches(data, m.when)) return null;
  const subPaths = m.subscription ?? spec.keys.subscription ?? spec.id;
  const sub = firstPresent(data, subPaths);
  const subscriptionId = sub ? textOf(sub.value) : null;
  if (subscriptionId === null) throw new RecordError('MISSING_ID', `MRR: no subscription id (looked at ${asList(subPaths).join(', ')})`, null, locOf(r, asList(subPaths)[0]));
  const acctPaths = m.account ?? spec.keys.account;
  const accountId = acctPaths !== undefined ? (textOf(firstPresent(data, acctPaths)?.value) ?? null) : null;

  const vHit = firstPresent(data, m.version.column);
  const vField = vHit?.path ?? asList(m.version.column)[0]!;
  if (!vHit) throw new RecordError('MISSING_FIELD', `MRR: version field ${asList(m.version.column).join(' / ')} is empty`, null, locOf(r, vField));
  const versionSeq = m.version.kind === 'integer' ? readIntegerSeqn(vHit.value, locOf(r, vField)) : readTimestamp(vHit.value, spec.timestamps[vField] ?? 'auto', zone, locOf(r, vField)).utcMicros;
  const tsHit = firstPresent(data, m.ts);
  if (!tsHit) throw new RecordError('MISSING_FIELD', `MRR: effective time ${asList(m.ts).join(' / ')} is empty`, null, locOf(r, asList(m.ts)[0]));
  const effectiveTs = readTimestamp(tsHit.value, spec.timestamps[tsHit.path] ?? 'auto', zone, locOf(r, tsHit.path)).utcMicros;

  const cspec = m.currency ?? spec.currency;
  const currency = cspec !== undefined ? readCurrency(data, cspec, locOf(r)) : null;
  if (currency === null) throw new RecordError('UNKNOWN_CURRENCY', 'MRR: no currency for the recurring amount (declare mrr.currency or the object\'s currency)', null, locOf(r));

  let mrr: Money;
  if (m.zeroWhen !== undefined && whenMatches(data, m.zeroWhen)) mrr = Money.zero(currency);
  else {
    const parts = m.items !== undefined ? itemsOf(data, m.items, r) : [{ node: data, prefix: '' }];
    let total = new Decimal(0);
    for (const { node, prefix } of parts) {
      const at = locOf(r);
      const amount = readMoney(node, 'mrr', { column: m.amount.column, unit: m.amount.unit }, currency, at).amount;
      let qty = new Decimal(1);
      if (m.quantity !== undefined) {
        const q = firstPresent(node, m.quantity);
        const text = q ? textOf(q.value) : null;
        if (text === null || !/^-?\d+(\.\d+)?$/.test(text)) throw new RecordError('BAD_VALUE', `MRR: quantity ${JSON.stringify(text)} is not a number`, text, locOf(r, `${prefix}${q?.path ?? asList(m.quantity)[0]}`));
        qty = new Decimal(text);
      }
      total = total.plus(amount.times(qty));
    }
    mrr = Money.major(total.toFixed(), currency, locOf(r, 'mrr'));
  }
  return { billingSource: sourceName, subscriptionId, accountId, versionSeq, version: textOf(vHit.value)!, effectiveTs, mrr, location: locOf(r) };
}

function itemsOf(data: unknown, path: string, r: RawRecord): { node: unknown; prefix: string }[] {
  const v = getPath(data, path);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new RecordError('BAD_VALUE', `MRR: ${path} is not a list of items`, textOf(v), locOf(r, path));
  return v.map((node, i) => ({ node, prefix: `${path}[${i}].` }));
}
