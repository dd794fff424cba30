/**
 * The mapping engine: one raw record + its object mapping → canonical events, or one RecordError.
 * A record yields either all of its events or none (the first problem quarantines the whole record).
 */
import { isLosslessNumber, stringify as stringifyLossless } from 'lossless-json';
import { parseJson as parseLossless } from '../landing/json-parse.js';
import { isIoError, RecordError, type SourceLocation } from '../../events/errors.js';
import { eventId } from '../../events/identity.js';
import { makeEvent, quarantineFromError, type BillingEvent, type QuarantineEntry } from '../../events/model.js';
import type { Money } from '../../events/money.js';
import { Money as MoneyClass } from '../../events/money.js';
import type { DeclaredEventType, EventRule, ObjectSpec, SourceConfig } from '../../config/sources.js';
import { firstPresent, getPath, textOf, asList } from '../paths.js';
import { Skipped, type MapContext, type MapResult, type RawRecord, locOf } from '../types.js';
import { conditionFields, whenMatches } from './conditions.js';
import { NO_CURRENCY, readCurrency, readIntegerSeqn, readMoney, readTimestamp } from './values.js';

export type Mapper = ((record: RawRecord, ctx: MapContext) => MapResult) & {
  /** Objects whose rows are versions of one record (`history: true`): a MapSession keeps the earliest version's events. */
  readonly historyObjects?: ReadonlySet<string>;
};

function positionOf(r: RawRecord): number {
  return r.location.line ?? r.location.position ?? 0;
}

/** Decodes JSON-in-a-string fields (top-level or dotted paths) into a shallow copy of the record. */
function decodeJsonFields(data: Record<string, unknown>, fields: string[], r: RawRecord): Record<string, unknown> {
  if (fields.length === 0) return data;
  const out: Record<string, unknown> = { ...data };
  for (const f of fields) {
    const v = getPath(out, f);
    if (typeof v !== 'string' || v.trim() === '') continue;
    let decoded: unknown;
    try {
      decoded = parseLossless(v);
    } catch (e) {
      throw new RecordError('MALFORMED_RECORD', `field holds invalid JSON text: ${(e as Error).message}`, v, locOf(r, f), { cause: e });
    }
    setPath(out, f, decoded);
  }
  return out;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  if (Object.prototype.hasOwnProperty.call(obj, path) || !path.includes('.')) {
    obj[path] = value;
    return;
  }
  const [head, ...rest] = path.split('.');
  const child = obj[head!];
  if (child && typeof child === 'object' && !Array.isArray(child)) {
    const copy = { ...(child as Record<string, unknown>) };
    obj[head!] = copy;
    setPath(copy, rest.join('.'), value);
  }
}

const checkRegex = new Map<string, RegExp>();
function re(src: string): RegExp {
  let r = checkRegex.get(src);
  if (!r) checkRegex.set(src, (r = new RegExp(src)));
  return r;
}

function runChecks(data: unknown, spec: ObjectSpec, r: RawRecord): void {
  for (const c of spec.checks) {
    const v = getPath(data, c.field);
    const text = textOf(v);
    const fail = (why: string) => new RecordError(c.reason, c.message ? `${c.message} (${why})` : why, text ?? v ?? null, locOf(r, c.field));
    if (text === null) {
      if (c.required) throw fail(`required field "${c.field}" is empty`);
      continue;
    }
    if (c.pattern && !re(c.pattern).test(text)) throw fail(`"${c.field}" = ${JSON.stringify(text)} does not match /${c.pattern}/`);
    if (c.notPattern && re(c.notPattern).test(text)) throw fail(`"${c.field}" = ${JSON.stringify(text)} must not match /${c.notPattern}/`);
  }
}

interface Compiled {
  spec: ObjectSpec;
  zone: string;
  /** The source's declared event types (beside the canonical ones), with their sign conventions. */
  declared: Readonly<Record<string, DeclaredEventType>>;
}

export function compileMapper(source: SourceConfig): Mapper {
  const objects = new Map<string, Compiled>(source.objects.map((o) => [o.object, { spec: o, zone: o.timezone ?? source.timezone, declared: source.eventTypes }]));
  const mapper = (record: RawRecord, ctx: MapContext): MapResult => {
    if (record.parseError) return record.parseError;
    const c = objects.get(record.object);
    if (!c) return new RecordError('MALFORMED_RECORD', `source "${source.name}" has no mapping for object "${record.object}"`, record.object, locOf(record));
    try {
      return mapOne(source.name, c, record, ctx);
    } catch (e) {
      return recordBoundary(e, record);
    }
  };
  return Object.assign(mapper, { historyObjects: new Set(source.objects.filter((o) => o.history).map((o) => o.object)) });
}

/**
 * The per-record error boundary: whatever goes wrong while turning ONE record into events quarantines that record
 * (the cause's message kept), never the run. Only an I/O error (a system error with an errno code) propagates:
 * mapping does no I/O, so one surfacing here is the machine's problem, not the record's.
 */
function recordBoundary(e: unknown, record: RawRecord): RecordError {
  if (e instanceof RecordError) return e.location ? e : e.at(locOf(record));
  if (isIoError(e)) throw e;
  const why = e instanceof Error ? e.message : String(e);
  return new RecordError('BAD_VALUE', `record could not be mapped: ${why}`, null, locOf(record), { cause: e });
}

function mapOne(sourceName: string, c: Compiled, r: RawRecord, ctx: MapContext): BillingEvent[] | Skipped {
  const { spec, zone } = c;
  const data = decodeJsonFields(r.data, spec.jsonFields, r);
  runChecks(data, spec, r);
  const locate = (field: string) => locOf(r, field);
  // Skip rules (S1): a record that is not a billing event is counted under its rule, before ids and event rules.
  for (const k of spec.skip) if (whenMatches(data, k.when, locate) && !(k.unless !== undefined && whenMatches(data, k.unless, locate))) return new Skipped(`${spec.object}.${k.name}`);
  const idHit = firstPresent(data, spec.id);
  const recordId = idHit ? identityText(idHit, r) : null;
  if (recordId === null) throw new RecordError('MISSING_ID', `record has no id (looked at ${asList(spec.id).join(', ')})`, null, locOf(r, asList(spec.id)[0]));
  const versionHit = spec.version !== undefined ? firstPresent(data, spec.version) : null;
  const version = versionHit ? identityText(versionHit, r) : null;
  const seqn = readSeqn(data, spec, zone, r);

  const rules = spec.events.filter((rule) => whenMatches(data, rule.when, locate) && !(rule.unless !== undefined && whenMatches(data, rule.unless, locate)));
  if (rules.length === 0) {
    const fields = conditionFields(spec.events.flatMap((e) => [e.when, e.unless]));
    const seen = Object.fromEntries(fields.map((f) => [f, textOf(getPath(data, f))]));
    throw new RecordError('UNKNOWN_EVENT_TYPE', `no event rule of object "${spec.object}" matches this record (${JSON.stringify(seen)})`, JSON.stringify(seen), locOf(r, fields.join(',') || undefined));
  }
  const keys = {
    accountId: keyOf(data, spec.keys.account),
    subscriptionId: keyOf(data, spec.keys.subscription),
    invoiceId: keyOf(data, spec.keys.invoice),
    productId: keyOf(data, spec.keys.product),
  };
  const loc = locOf(r); // one location object per record (read only where an error is built)
  return rules.map((rule) => {
    const tsHit = firstPresent(data, rule.ts);
    if (!tsHit) throw new RecordError('MISSING_FIELD', `event time is empty (looked at ${asList(rule.ts).join(', ')})`, null, locOf(r, asList(rule.ts)[0]));
    const ts = readTimestamp(tsHit.value, spec.timestamps[tsHit.path] ?? 'auto', zone, locOf(r, tsHit.path));
    const amount = readAmount(data, spec, rule, r, loc);
    const identityHit = rule.identity?.id !== undefined ? firstPresent(data, rule.identity.id) : undefined;
    const identityId = identityHit === undefined ? recordId : identityHit && identityText(identityHit, r);
    if (identityId === null) throw new RecordError('MISSING_ID', `identity id is empty (looked at ${asList(rule.identity!.id!).join(', ')})`, null, locOf(r, asList(rule.identity!.id!)[0]));
    const declared = c.declared[rule.eventType];
    if (declared) checkDeclaredSign(rule, declared, amount, r);
    const id = eventId({
      billingSource: sourceName,
      sourceObjectType: rule.identity?.object ?? spec.object,
      sourceRecordId: identityId,
      sourceVersion: changeMarkerOf(data, rule, version),
    });
    return makeEvent(
      {
        eventId: id,
        seqn,
        billingSource: sourceName,
        eventType: rule.eventType,
        sourceObjectType: spec.object,
        sourceRecordId: recordId,
        sourceVersion: version,
        ts,
        sourceTsRaw: textOf(tsHit.value) ?? '',
        sourceTimezone: zone,
        amount,
        ...keys,
        lineage: { sourceFile: r.location.file, sourcePosition: positionOf(r), ingestRunId: ctx.ingestRunId },
      },
      loc,
    );
  });
}

/** An id or version as text; a control character (U+0000–U+001F, U+007F) in it is a bad value, not an identity. */
function identityText(hit: { path: string; value: unknown }, r: RawRecord): string | null {
  if (hit.value !== null && typeof hit.value !== 'string' && !isLosslessNumber(hit.value)) {
    const what = typeof hit.value === 'boolean' ? `the boolean ${hit.value}` : Array.isArray(hit.value) ? 'a list' : typeof hit.value === 'object' ? 'an object' : typeof hit.value;
    throw new RecordError('BAD_VALUE', `"${hit.path}" is ${what}; an id or version must be text or a number`, String(textOf(hit.value) ?? what), locOf(r, hit.path));
  }
  const text = textOf(hit.value);
  const ctl = text === null ? null : /[\u0000-\u001f\u007f]/.exec(text);
  if (ctl) {
    const cp = `U+${ctl[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
    throw new RecordError('BAD_VALUE', `"${hit.path}" = ${JSON.stringify(text)} contains the control character ${cp}; ids and versions must be printable text`, text, locOf(r, hit.path));
  }
  return text;
}

/**
 * The identity's change marker: the rule's name (else its event type), then `@<version>` for perVersion rules or
 * `@<v1>|<v2>` for a rule's own changeMarker fields (S1): the event recurs exactly when those values change.
 */
function changeMarkerOf(data: unknown, rule: EventRule, version: string | null): string {
  const discriminator = rule.name ?? rule.eventType;
  if (rule.perVersion) return `${discriminator}@${version ?? ''}`;
  if (rule.changeMarker === undefined) return discriminator;
  return `${discriminator}@${asList(rule.changeMarker).map((p) => textOf(getPath(data, p)) ?? '').join('|')}`;
}

/** A declared event type's amounts must point the way its sign convention says (the canonical ones are documented). */
function checkDeclaredSign(rule: EventRule, declared: DeclaredEventType, amount: Money, r: RawRecord): void {
  const sign = amount.sign();
  const ok = declared.sign === 'any' || sign === 0 || (declared.sign === 'positive' ? sign > 0 : declared.sign === 'negative' ? sign < 0 : false);
  if (ok) return;
  throw new RecordError('BAD_AMOUNT', `event type ${rule.eventType} is declared ${declared.sign}, but rule ${rule.name ?? rule.eventType} gives ${amount.toFixed()} (check the rule's sign)`, amount.toFixed(), locOf(r, rule.amount));
}

function keyOf(data: unknown, paths: string | string[] | undefined): string | null {
  if (paths === undefined) return null;
  const hit = firstPresent(data, paths);
  return hit ? textOf(hit.value) : null;
}

function readSeqn(data: unknown, spec: ObjectSpec, zone: string, r: RawRecord): bigint {
  if (spec.seqn === 'position') return BigInt(positionOf(r));
  const hit = firstPresent(data, spec.seqn.column);
  const field = hit?.path ?? asList(spec.seqn.column)[0]!;
  if (!hit) throw new RecordError('MISSING_FIELD', `seqn field ${asList(spec.seqn.column).join(' / ')} is empty`, null, locOf(r, field));
  if (spec.seqn.kind === 'integer') return readIntegerSeqn(hit.value, locOf(r, field));
  return readTimestamp(hit.value, spec.timestamps[field] ?? 'auto', zone, locOf(r, field)).utcMicros;
}

function readAmount(data: unknown, spec: ObjectSpec, rule: EventRule, r: RawRecord, loc: SourceLocation): Money {
  if (rule.amount === undefined) {
    const cur = spec.currency !== undefined ? readCurrency(data, spec.currency, loc) : null;
    return MoneyClass.zero(cur ?? NO_CURRENCY);
  }
  const m = spec.money[rule.amount]!;
  const cspec = m.currency ?? spec.currency!;
  const currency = readCurrency(data, cspec, loc);
  if (currency === null) {
    const cols = typeof cspec === 'string' ? [] : asList(cspec.column);
    throw new RecordError('UNKNOWN_CURRENCY', `no currency for amount "${rule.amount}" (column ${cols.join(' / ')} is empty and no default is configured)`, null, locOf(r, cols[0]));
  }
  const money = readMoney(data, rule.amount, m, currency, loc);
  return rule.sign === -1 ? money.negated() : money;
}

/** The quarantine entry for a record that could not be mapped. */
export function toQuarantine(err: RecordError, r: RawRecord, billingSource: string, ingestRunId: string): QuarantineEntry {
  const q = quarantineFromError(err, { billingSource, sourceFile: r.location.file, sourcePosition: positionOf(r), rawRecord: r.rawText ?? String(stringifyLossless(r.data)), ingestRunId });
  return { ...q, rawValue: q.rawValue === null ? null : detachString(q.rawValue), rawRecord: detachString(q.rawRecord), message: detachString(q.message) };
}

/**
 * An exact, flat copy of a string. A record's text is a V8 slice of its whole file's text: a quarantine entry
 * (kept until the commit ends) holding the slice would keep the whole file (megabytes) alive, once per bad
 * record's file. The JSON round trip is exact (lone surrogates included) and allocates a new flat string.
 */
export function detachString(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}
