import { describe, expect, it } from 'vitest';
import { RecordError } from '../../events/errors.js';
import { detachString, toQuarantine } from '../../connectors/mapping/map.js';

describe('quarantine entries hold exact, detached copies of the record text', () => {
  it('copies strings exactly, lone surrogates, quotes, newlines and non-ASCII included', () => {
    for (const s of ['', 'plain', '{"a":"b\\"c"}\n', 'naïve €\ud800 x', 'x'.repeat(100_000)]) expect(detachString(s)).toBe(s);
  });

  it('builds the entry from a line sliced out of a big file text with the same content and location', () => {
    const fileText = `${'{"id":"ok"}\n'.repeat(10_000)}{"id": broken\n`;
    const line = fileText.slice(fileText.lastIndexOf('{'), -1);
    const err = new RecordError('MALFORMED_RECORD', 'line is not valid JSON', line, { file: 'stripe/2024-02-01/00/charge.jsonl', line: 10_001 });
    const q = toQuarantine(err, { object: 'charge', data: {}, location: { file: 'stripe/2024-02-01/00/charge.jsonl', line: 10_001 }, rawText: line, parseError: err }, 'stripe', 'run-1');
    expect(q).toMatchObject({ billingSource: 'stripe', sourceFile: 'stripe/2024-02-01/00/charge.jsonl', sourcePosition: 10_001, reason: 'MALFORMED_RECORD', rawValue: '{"id": broken', rawRecord: '{"id": broken', ingestRunId: 'run-1' });
    expect(q.message).toMatch(/line is not valid JSON/);
  });
});
