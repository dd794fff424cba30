import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, mergeLayers } from '../../config/index.js';
import { ConfigError } from '../../events/errors.js';

function yamlFile(text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'bm-config-'));
  const f = path.join(dir, 'billing-mart.yaml');
  writeFileSync(f, text);
  return f;
}

describe('config', () => {
  it('works out of the box on embedded defaults, frozen', () => {
    const c = loadConfig({ env: {} });
    expect(c.lookbackHours).toBe(24);
    expect(path.isAbsolute(c.warehouse)).toBe(true);
    expect(c.state).toBe(path.join(c.warehouse, '_state'));
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.schedule)).toBe(true);
  });

  it('applies precedence: defaults < file < env < flags', () => {
    const f = yamlFile('warehouse: from-file\nlanding: land-file\nlookbackHours: 12\n');
    const fromFile = loadConfig({ configFile: f, env: {} });
    expect(fromFile.warehouse).toBe(path.join(path.dirname(f), 'from-file'));
    expect(fromFile.lookbackHours).toBe(12);
    const fromEnv = loadConfig({ configFile: f, env: { BILLING_MART_WAREHOUSE: '/env/wh' } });
    expect(fromEnv.warehouse).toBe('/env/wh');
    const fromFlag = loadConfig({ configFile: f, env: { BILLING_MART_WAREHOUSE: '/env/wh' }, warehouse: '/flag/wh' });
    expect(fromFlag.warehouse).toBe('/flag/wh');
    expect(fromFlag.landing).toBe(path.join(path.dirname(f), 'land-file'));
  });

  it('reports every problem with its key, not just the first', () => {
    const f = yamlFile('lookbackHours: -3\nschedule:\n  timezone: Mars/Olympus\nunknownKey: 1\n');
    let err: unknown;
    try {
      loadConfig({ configFile: f, env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain(f);
    expect(msg).toContain('lookbackHours');
    expect(msg).toContain('schedule.timezone');
    expect(msg).toContain('unknownKey');
  });

  it('names the file and line of a YAML syntax error', () => {
    const f = yamlFile('warehouse: [unclosed\n');
    expect(() => loadConfig({ configFile: f, env: {} })).toThrow(/not valid YAML[\s\S]*billing-mart\.yaml:\d+/);
  });

  it('merges objects deeply and replaces arrays', () => {
    expect(mergeLayers({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { c: 3 }, l: [9] })).toEqual({ a: { b: 1, c: 3 }, l: [9] });
  });
});

function problemsOf(f: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadConfig({ configFile: f, env });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration checked once, completely (issue 15 item 5)', () => {
  it('an invalid cron expression is a config error at load, checked by croner itself', () => {
    const f = yamlFile('schedule:\n  billing: "61 * * * *"\n');
    const p = problemsOf(f);
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: schedule\\.billing: invalid cron expression "61 \\* \\* \\* \\*"`));
  });

  it('reports every kind of problem in one pass: cron, zone, duplicate and reserved source names, tuning', () => {
    const f = yamlFile(
      [
        'schedule:',
        '  oltp: "every day"',
        '  timezone: "+05:00"',
        'compaction: { targetFileBytes: 10 }',
        'tuning: { spillRows: 0, memoryLimit: lots, colour: blue }',
        'sources:',
        '  - { name: oltp, timezone: UTC, objects: [{ object: a, id: id, events: [{ eventType: PAYMENT_PROCESSED, ts: t }] }] }',
        '  - { name: x, timezone: UTC, objects: [{ object: a, id: id, events: [{ eventType: PAYMENT_PROCESSED, ts: t }] }] }',
        '  - { name: x, timezone: Mars/Olympus, objects: [{ object: a, id: id, events: [{ eventType: PAYMENT_PROCESSED, ts: t }] }] }',
      ].join('\n'),
    );
    const p = problemsOf(f).join('\n');
    expect(p).toMatch(/schedule\.oltp: invalid cron expression "every day"/);
    expect(p).toMatch(/schedule\.timezone: an IANA time zone/);
    expect(p).toMatch(/sources\[2\]\.timezone: an IANA time zone/);
    expect(p).toMatch(/sources\[0\]\.name: "oltp" is reserved/);
    expect(p).toMatch(/sources\[2\]\.name: source name "x" is already used by sources\[1\]/);
    expect(p).toMatch(/compaction\.targetFileBytes/);
    expect(p).toMatch(/tuning\.spillRows: 0 is invalid: expected an integer >= 1/);
    expect(p).toMatch(/tuning\.memoryLimit: "lots" is invalid/);
    expect(p).toMatch(/tuning\.colour: unknown warehouse option/);
    for (const line of problemsOf(f)) expect(line.startsWith(`${f}: `)).toBe(true);
  });

  it('a zone the timestamp parser refuses is refused by the configuration too (one validator)', () => {
    // Intl may accept an offset as a zone; the parser does not, so the configuration must not either
    const f = yamlFile('sources:\n  - { name: x, timezone: "+05:00", objects: [{ object: a, id: id, events: [{ eventType: PAYMENT_PROCESSED, ts: t }] }] }\n');
    expect(problemsOf(f).join('\n')).toMatch(/timezone: an IANA time zone/);
  });

  it('the schedule the scheduler compiles is the one the configuration accepted', async () => {
    const { compileCron } = await import('../../jobs/scheduler.js');
    expect(() => compileCron('61 * * * *')).toThrow(ConfigError);
    expect(compileCron('0 */4 * * *').nextRun(new Date('2024-01-03T01:00:00Z'))?.toISOString()).toBe('2024-01-03T04:00:00.000Z');
  });
});

describe('config paths (issue 15 item 9: resolved and reported; ".." out of the base refused unless explicit)', () => {
  it('resolves state and oltp.snapshotDir to absolute paths', () => {
    const f = yamlFile('warehouse: wh\nlanding: land\nstate: st\noltp: { kind: file, snapshotDir: snap }\n');
    const c = loadConfig({ configFile: f, env: {} });
    const base = path.dirname(f);
    expect(c.state).toBe(path.join(base, 'st'));
    expect(c.oltp.snapshotDir).toBe(path.join(base, 'land', 'snap'));
  });

  it('refuses a relative path that climbs out of the config file directory or the landing zone', () => {
    const f = yamlFile('state: ../../etc/bm-state\nwarehouse: ../wh\noltp: { kind: file, snapshotDir: ../../outside }\n');
    const p = problemsOf(f).join('\n');
    expect(p).toMatch(/state: "\.\.\/\.\.\/etc\/bm-state" climbs out of the config file's directory/);
    expect(p).toMatch(/warehouse: "\.\.\/wh" climbs out/);
    expect(p).toMatch(/oltp\.snapshotDir: "\.\.\/\.\.\/outside" climbs out of the landing zone/);
  });

  it('accepts the same places written as absolute paths (explicit)', () => {
    const base = path.dirname(yamlFile(''));
    const f = yamlFile(`state: ${path.join(base, '..', 'st')}\noltp: { kind: file, snapshotDir: ${path.join(base, '..', 'snap')} }\n`);
    const c = loadConfig({ configFile: f, env: {} });
    expect(c.state).toBe(path.resolve(base, '..', 'st'));
    expect(c.oltp.snapshotDir).toBe(path.resolve(base, '..', 'snap'));
  });
});
