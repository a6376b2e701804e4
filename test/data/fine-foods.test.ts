/**
 * The Amazon fine-food reviews (R modeldata `small_fine_foods`) read from the real Debian package data
 * in vendor/modeldata (fetched by scripts/fetch-modeldata.sh), plus the loader's cleaning and errors.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MODELDATA_DIR,
  FineFoodsMissingError,
  cleanFineFoodReview,
  loadFineFoods,
} from '../../data/fineFoods.ts';
import { attributeOf, classOf, readLazyLoadDb } from '../../data/rdata/index.ts';

const haveData = existsSync(join(DEFAULT_MODELDATA_DIR, 'Rdata.rdb')) && existsSync(join(DEFAULT_MODELDATA_DIR, 'Rdata.rdx'));

describe('fine-food reviews loader', () => {
  it('cleans reviews: <br /> tags to spaces, HTML entities decoded, whitespace collapsed', () => {
    expect(cleanFineFoodReview('  Great&nbsp;tea.<br /><br />Saut&eacute;  it!\n')).toBe('Great tea. Sauté it!');
  });

  it('says how to fetch the data when it is missing', () => {
    const empty = mkdtempSync(join(tmpdir(), 'swaglet-nofoods-'));
    try {
      expect(() => loadFineFoods(empty)).toThrow(FineFoodsMissingError);
      expect(() => loadFineFoods(empty)).toThrow(/bash scripts\/fetch-modeldata\.sh/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

const realDataTitle = haveData
  ? 'small_fine_foods from r-cran-modeldata (vendor/modeldata)'
  : `small_fine_foods — skipped: ${DEFAULT_MODELDATA_DIR} is missing; run \`bash scripts/fetch-modeldata.sh\``;

describe.skipIf(!haveData)(realDataTitle, () => {
  it('holds tibbles whose score is a factor with levels exactly "great" and "other"', () => {
    const db = readLazyLoadDb(DEFAULT_MODELDATA_DIR);
    for (const name of ['training_data', 'testing_data']) {
      const tibble = db.get(name)!();
      expect(classOf(tibble)).toEqual(['tbl_df', 'tbl', 'data.frame']);
      expect(tibble.kind === 'list' && tibble.items.length).toBe(3);
      const names = attributeOf(tibble, 'names');
      expect(names?.kind === 'character' && names.data).toEqual(['product', 'review', 'score']);
      const score = tibble.kind === 'list' ? tibble.items[2]! : tibble;
      expect(classOf(score)).toEqual(['factor']);
      const levels = attributeOf(score, 'levels');
      expect(levels?.kind === 'character' && levels.data).toEqual(['great', 'other']);
    }
  });

  it('loads 4,000 training and 1,000 testing reviews, label 1 exactly where the score is "great"', () => {
    const foods = loadFineFoods();
    expect(foods.train.length).toBe(4000);
    expect(foods.test.length).toBe(1000);
    // Independent path to the labels: the raw factor codes (1 = "great", the first level).
    const db = readLazyLoadDb(DEFAULT_MODELDATA_DIR);
    for (const [split, name] of [[foods.train, 'training_data'], [foods.test, 'testing_data']] as const) {
      const tibble = db.get(name)!();
      const codes = tibble.kind === 'list' && tibble.items[2]!.kind === 'integer' ? Array.from(tibble.items[2]!.data) : [];
      expect(split.map((x) => x.label)).toEqual(codes.map((c) => (c === 1 ? 1 : 0)));
      const great = split.filter((x) => x.label === 1).length;
      // Both classes present, and 5-star reviews are the majority, as in Amazon reviews generally.
      expect(great).toBeGreaterThan(split.length / 2);
      expect(great).toBeLessThan(split.length);
      console.info(`fine foods ${name}: ${split.length} reviews, ${great} great (label 1), ${split.length - great} other (label 0)`);
    }
  });

  it('gives non-empty cleaned texts, the first review included', () => {
    const { train, test } = loadFineFoods();
    expect(train[0]!.text.length).toBeGreaterThan(0);
    expect(test[0]!.text.length).toBeGreaterThan(0);
    for (const r of [...train, ...test]) {
      expect(r.text).not.toMatch(/<br\s*\/?>|\s{2}|^\s|\s$/i);
      expect(r.text.length).toBeGreaterThan(0);
    }
  });
});
