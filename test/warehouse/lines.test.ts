import { describe, expect, it } from 'vitest';
import { LineBuffer, dayChecker, stageLine } from '../../warehouse/lines.js';
import { sampleEvent } from '../helpers/sample-events.js';
import type { BillingEvent } from '../../events/model.js';

const line = (e: BillingEvent, ord: number) => stageLine(e, ord, dayChecker());

describe('staged lines', () => {
  it('formats one CSV line per event: quoted text, empty vs null, money as exact integer + fraction', () => {
    const e = sampleEvent({ recordId: 'r"1', amount: '-0.05', mrrDelta: '12.5', accountId: null, dims: { accountName: 'a,b', accountSegment: '', accountCountry: null, productName: 'x\ny', planName: 'P', dimStatus: 'OK' } });
    const l = line(e, 7);
    expect(l.endsWith(',7\n')).toBe(true);
    expect(l).toContain(',"r""1",');
    expect(l).toContain(',-0,-050000000,USD,,'); // amount -0.05 then currency, account_id null (empty, unquoted)
    expect(l).toContain(',12,500000000,'); // mrr_delta
    expect(l).toContain(',"a,b","",,"x\ny",P,OK,');
  });

  it('rejects an event whose event_date is not the UTC day of event_ts, naming the event and its location', () => {
    const e = { ...sampleEvent({ ts: '2024-01-03T23:59:59Z', sourcePosition: 42 }), eventDate: '2024-01-04' } as BillingEvent;
    expect(() => line(e, 1)).toThrow(/event [0-9a-f]{32} \(stripe\/2024-01-03\/04\/export\.csv:42\): event_date 2024-01-04 is not the UTC day of event_ts \(2024-01-03T23:59:59\.000000Z\)/);
  });

  it('keeps the winner of each event_id as rows arrive and sorts each day by source, type, event_ts, seqn', () => {
    const b = new LineBuffer();
    const evs = [
      sampleEvent({ recordId: 'x', seqn: 5n, ts: '2024-01-03T10:00:00Z', type: 'INVOICE_PAID' }),
      sampleEvent({ recordId: 'y', seqn: 1n, ts: '2024-01-03T09:00:00Z', type: 'INVOICE_PAID' }),
      sampleEvent({ recordId: 'x', seqn: 9n, ts: '2024-01-03T10:00:00Z', type: 'INVOICE_PAID' }),
      sampleEvent({ recordId: 'x', seqn: 9n, ts: '2024-01-03T10:00:00Z', type: 'INVOICE_PAID' }), // full tie: the earlier row stays
      sampleEvent({ recordId: 'z', seqn: 1n, ts: '2024-01-04T01:00:00Z', type: 'INVOICE_POSTED' }),
      sampleEvent({ recordId: 'w', seqn: 1n, ts: '2024-01-03T23:00:00Z', type: 'FEE_CHARGED' }),
    ];
    evs.forEach((e, i) => b.add(e, line(e, i + 1)));
    expect(b.duplicates).toBe(2);
    const sorted = b.sortedByDay();
    expect([...sorted.keys()]).toEqual(['2024-01-03', '2024-01-04']);
    expect(sorted.get('2024-01-03')).toEqual([5, 1, 2]); // FEE_CHARGED first, then INVOICE_PAID by event_ts
    expect(sorted.get('2024-01-04')).toEqual([4]);
    expect(b.bytes(2).toString('utf8')).toBe(line(evs[2]!, 3));
  });
});
