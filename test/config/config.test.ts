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
