/**
 * A landing file is read with the content the plan fingerprinted, or not at all: a file rewritten between the plan
 * and the read (a re-delivery in progress) fails the read with a RetriableError naming it, whether it is small
 * (read whole, once: checked before any record) or large (streamed, each pass checked); an unchanged file reads.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planPickup, recordsOf } from '../../connectors/index.js';
import { WHOLE_FILE_BYTES } from '../../connectors/landing/bytes.js';
import type { PickupSettings } from '../../connectors/landing/pickup.js';
import { parseSourceConfig } from '../../config/sources.js';
import { RetriableError } from '../../events/errors.js';
import { acmePayments, DAY, NOW, tempDir, WINDOW } from './helpers.js';

const t = tempDir();
afterAll(() => t.cleanup());
const SOURCE = parseSourceConfig(acmePayments({ recordsPath: '$' }), 'test');
const PICKUP: PickupSettings = { mode: 'marker', quietSeconds: 0 };

async function readAll(landing: string, change?: (file: string) => void) {
  const plan = await planPickup(landing, SOURCE, WINDOW, { lookbackHours: 0, nowMs: NOW, pickup: PICKUP });
  expect(plan.inputs).toHaveLength(1);
  change?.(plan.inputs[0]!.abs);
  let n = 0;
  for await (const _ of recordsOf(plan.inputs)) n++;
  return n;
}

function land(name: string, rows: number, pad: number): string {
  const landing = path.join(t.dir, name);
  const dir = path.join(landing, 'acme', DAY, '00');
  mkdirSync(dir, { recursive: true });
  const lines = ['id,created,amount,currency,note'];
  for (let i = 0; i < rows; i++) lines.push(`p${i},1704268800,${i},usd,${'x'.repeat(pad)}`);
  writeFileSync(path.join(dir, 'payment.csv'), lines.join('\n') + '\n');
  writeFileSync(path.join(dir, '_SUCCESS'), '');
  return landing;
}

describe('a landing file changed between the plan and the read', () => {
  for (const [what, rows, pad] of [
    ['small (read whole, once)', 100, 10],
    ['large (streamed)', 600, Math.ceil(WHOLE_FILE_BYTES / 500)],
  ] as const) {
    it(`${what}: unchanged it reads; rewritten (same size or not) the read fails, retriable, naming the file`, async () => {
      const landing = land(what.split(' ')[0]!, rows, pad);
      expect(await readAll(landing)).toBe(rows);
      const sameSize = (f: string) => writeFileSync(f, readFileSync(f, 'utf8').replace('p0,', 'P0,'));
      for (const change of [sameSize, (f: string) => writeFileSync(f, 'id,created,amount,currency,note\np0,1704268800,1,usd,x\n')]) {
        const err = await readAll(landing, change).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RetriableError);
        expect((err as Error).message).toContain('acme/2024-01-03/00/payment.csv changed while this run was reading it');
        land(what.split(' ')[0]!, rows, pad);
      }
    });
  }
});
