/**
 * Amazon fine-food reviews — `small_fine_foods` of the R package modeldata (Debian `r-cran-modeldata`
 * 1.1.0-1): tibbles `training_data` (4,000 reviews) and `testing_data` (1,000) with columns product,
 * review, score. Read straight from the package's lazy-load database (no R needed) that
 * `bash scripts/fetch-modeldata.sh` unpacks into vendor/modeldata/.
 *
 * Labels, matching IMDB sentiment (data/imdb.ts: 1 = positive):
 *   score "great" (a 5-star review)   → label 1
 *   score "other" (1 to 4 stars)      → label 0
 * Any other score value is a DatasetFormatError, so a changed data set cannot be silently mislabelled.
 *
 * Text is cleaned like IMDB's — `<br />` tags become spaces, whitespace collapses — and HTML entities
 * (`&eacute;`, `&quot;`, …, present in a few dozen reviews) are decoded.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatasetFormatError, type LabeledText } from './imdb.ts';
import { asDataFrame } from './rdata/dataFrame.ts';
import { readLazyLoadDb } from './rdata/lazyLoadDb.ts';
import { collapseWhitespace, decodeHtmlEntities, replaceLineBreakTags } from './text.ts';

export type { LabeledText } from './imdb.ts';

/** Where scripts/fetch-modeldata.sh puts the modeldata lazy-load database. */
export const DEFAULT_MODELDATA_DIR = fileURLToPath(new URL('../vendor/modeldata', import.meta.url));

/** The two score levels of `small_fine_foods`, and the label each maps to. */
export const FINE_FOODS_LABELS: Readonly<Record<string, number>> = { great: 1, other: 0 };

export class FineFoodsMissingError extends Error {
  override name = 'FineFoodsMissingError';
}

export interface FineFoods {
  train: LabeledText[];
  test: LabeledText[];
}

/** Loads both splits in their original row order. */
export function loadFineFoods(dir: string = DEFAULT_MODELDATA_DIR): FineFoods {
  const missing = ['Rdata.rdx', 'Rdata.rdb'].filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) {
    throw new FineFoodsMissingError(
      `the fine-food reviews (R package modeldata) are not in ${dir} (missing ${missing.join(', ')}); ` +
        'run `bash scripts/fetch-modeldata.sh` (or `bash scripts/setup.sh`) to fetch them',
    );
  }
  const db = readLazyLoadDb(dir);
  const split = (name: string): LabeledText[] => {
    const load = db.get(name);
    if (!load) throw new DatasetFormatError(`${dir}: the modeldata database has no ${name} (small_fine_foods)`);
    return toLabeledTexts(asDataFrame(load()), `${dir} ${name}`);
  };
  return { train: split('training_data'), test: split('testing_data') };
}

/** A review cleaned the way the loader cleans it. */
export function cleanFineFoodReview(raw: string): string {
  return collapseWhitespace(decodeHtmlEntities(replaceLineBreakTags(raw)));
}

function toLabeledTexts(df: ReturnType<typeof asDataFrame>, what: string): LabeledText[] {
  const { review, score } = df;
  if (!review || !score) throw new DatasetFormatError(`${what}: expected columns review and score, got ${Object.keys(df).join(', ')}`);
  return review.map((text, i) => {
    const s = score[i];
    if (typeof text !== 'string') throw new DatasetFormatError(`${what}: review ${i + 1} is ${String(text)}`);
    const label = typeof s === 'string' ? FINE_FOODS_LABELS[s] : undefined;
    if (label === undefined) throw new DatasetFormatError(`${what}: review ${i + 1} has score ${String(s)}, expected great or other`);
    return { text: cleanFineFoodReview(text), label };
  });
}
