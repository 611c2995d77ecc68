import { describe, expect, it } from 'vitest';
import { CATALOGUE, defineCatalogue } from './catalogue.js';

// Every row of the catalogue, in every login mode it applies to, against `coatcheck serve` on SQLite.
defineCatalogue('sqlite', true, CATALOGUE);

describe('the catalogue itself', () => {
  it('has at least 60 rows, each with a unique id, an expected status and a mode', () => {
    expect(CATALOGUE.length).toBeGreaterThanOrEqual(60);
    expect(new Set(CATALOGUE.map((row) => row.id)).size).toBe(CATALOGUE.length);
    for (const row of CATALOGUE) {
      expect(row.modes.length, row.id).toBeGreaterThan(0);
      expect(row.expect.status, row.id).toBeGreaterThanOrEqual(200);
    }
  });

  it('covers every area, and marks a subset of each for the other stores', () => {
    const areas = ['token', 'session', 'refresh', 'csrf', 'login', 'redirect', 'http', 'privilege'];
    for (const area of areas) {
      const rows = CATALOGUE.filter((row) => row.area === area);
      expect([area, rows.length > 0, rows.some((row) => row.everyStore)]).toEqual([area, true, true]);
    }
  });
});
