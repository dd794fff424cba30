/**
 * The `billing-mart timestamps` line protocol, as pure functions (the CLI module only does the streaming):
 * input  `{"raw": <string|number>, "source_tz": "<IANA zone>"}` per line,
 * output `{"utc":…,"utc_date":…,"precision":…,"truncated_to_midnight":…,"ambiguous":…,"nonexistent":…,
 *          "source_local_date":…,"error":…}` per line, in order. A bad line yields an `error`, never an exception.
 */
import { LosslessNumber, parse as losslessParse } from 'lossless-json';
import { RecordError } from './errors.js';
import { parseTimestamp, type ParsedTimestamp, type ParseOptions } from './time.js';
import { getZone } from './time-zone.js';

/** Serialises a parsed timestamp in the CLI's shape (hand-built: every value here needs no escaping). */
export function parsedToLine(p: ParsedTimestamp): string {
  return (
    `{"utc":"${p.utc}","utc_date":"${p.utcDate}","precision":"${p.precision}",` +
    `"truncated_to_midnight":${p.truncatedToMidnight},"ambiguous":${p.ambiguous},"nonexistent":${p.nonexistent},` +
    `"source_local_date":"${p.sourceLocalDate}","error":null}`
  );
}

export function errorLine(message: string): string {
  return (
    '{"utc":null,"utc_date":null,"precision":null,"truncated_to_midnight":false,"ambiguous":false,' +
    `"nonexistent":false,"source_local_date":null,"error":${JSON.stringify(message)}}`
  );
}

function where(lineNo: number, field?: string): string {
  return `stdin line ${lineNo}${field ? ` field "${field}"` : ''}`;
}

/**
 * JSON.parse has already rounded a number through a double; judge it by its exact source text instead.
 * Fast path: the common `"raw":1500000000` written as a plain integer that round-trips; anything else
 * (fractions, exponents, huge values, odd spacing) is re-read with lossless-json.
 */
function exactNumber(line: string, parsed: number): unknown {
  if (Number.isSafeInteger(parsed) && parsed >= 0) {
    const text = String(parsed);
    const key = '"raw":' + text;
    const at = line.indexOf(key);
    if (at !== -1 && line.indexOf('"raw"', at + 1) === -1 && line.lastIndexOf('"raw"', at - 1) === -1) {
      const next = line.charCodeAt(at + key.length);
      // the literal must end right after the digits (no fraction, exponent or further digits)
      if (next === 44 /* , */ || next === 125 /* } */ || next === 32 || next === 9 || next === 13) return new LosslessNumber(text);
    }
  }
  return (losslessParse(line) as Record<string, unknown>).raw;
}

/**
 * One input line → one output line (without the newline). `lineNo` is 1-based and names the line in errors.
 * Numbers in `raw` are re-read losslessly, so a JSON number is judged by its exact text.
 */
export function timestampLine(line: string, lineNo: number, options?: ParseOptions): string {
  if (line.trim() === '') return errorLine(`${where(lineNo)}: empty line; expected {"raw": ..., "source_tz": "..."}`);
  let rec: unknown;
  try {
    rec = JSON.parse(line);
  } catch {
    return errorLine(`${where(lineNo)}: not valid JSON; expected {"raw": ..., "source_tz": "..."} on each line`);
  }
  if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) {
    return errorLine(`${where(lineNo)}: expected a JSON object {"raw": ..., "source_tz": "..."}`);
  }
  const obj = rec as Record<string, unknown>;
  if (!('raw' in obj)) return errorLine(`${where(lineNo)}: missing field "raw"`);
  const zone = obj.source_tz;
  if (typeof zone !== 'string' || zone === '') {
    return errorLine(`${where(lineNo, 'source_tz')}: missing or not a string; give an IANA zone such as "America/Los_Angeles"`);
  }
  if (!getZone(zone)) {
    return errorLine(`${where(lineNo, 'source_tz')}: unknown time zone ${JSON.stringify(zone)}; give an IANA zone such as "America/Los_Angeles" or "UTC"`);
  }
  let raw = obj.raw;
  if (typeof raw === 'number') raw = exactNumber(line, raw);
  try {
    return parsedToLine(parseTimestamp(raw, zone, options));
  } catch (e) {
    if (e instanceof RecordError) return errorLine(`${where(lineNo, 'raw')}: ${e.message}`);
    throw e;
  }
}
