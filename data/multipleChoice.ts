/**
 * Multiple choice as SWAG-LoRA runs it with a causal language model (fortuinlab/swag-lora, data.py,
 * `tokenize_function_for_causal_lm`, and utils/peft_utils.py, `trim_head_for_mcqa`):
 *
 * - the prompt is one line, choices lettered "A." "B." … and joined by spaces:
 *   `Select one of the choices that answers the following question: {question} Choices: A. {c0} B. {c1} Answer:`
 * - the class is the answer letter's index (answer keys "A".."E", or "1".."4" meaning A..D there);
 * - the model reads, at the prompt's last position, the logits of the answer letters' tokens only: the
 *   head is trimmed to the ids `tokenizer.encode(letter)` gives after the BOS token.
 *
 * The paper's preprocessing also capitalizes each choice (all its tasks) and ends it with a period
 * (OpenBookQA, MMLU); `sentenceCase: true` does both.
 */
import { DataError } from './dataError.ts';
import type { Examples } from './examples.ts';
import { LabelMap } from './labels.ts';
import type { Table } from './table.ts';
import { arrayValue, textValue } from './tasks.ts';
import { type TextTokenizer, TokenizerError } from './textTokenizer.ts';

export const ANSWER_LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export interface MultipleChoiceColumns {
  /** The question (context) column. */
  question: string;
  /**
   * The choices: one column holding an array of strings per row (or a Hugging Face
   * `{text: [...], label: [...]}` struct; in CSV, the text of a JSON array), or a list of columns,
   * one choice each.
   */
  choices: string | readonly string[];
  /** The answer column: a letter (A, B, …) or an index. */
  answer: string;
  /** Whether an index answer counts from 0 (MMLU) or 1 (some ARC keys); default 0. */
  answerIndexBase?: 0 | 1;
  /** Capitalize each choice and end it with a period, as the paper's preprocessing does; default false. */
  sentenceCase?: boolean;
}

/** The SWAG-LoRA prompt for one question. */
export function multipleChoicePrompt(question: string, choices: readonly string[]): string {
  if (choices.length > ANSWER_LETTERS.length) throw new Error(`at most ${ANSWER_LETTERS.length} choices, got ${choices.length}`);
  const listed = choices.map((choice, i) => `${ANSWER_LETTERS[i]}. ${choice}`).join(' ');
  return `Select one of the choices that answers the following question: ${question} Choices: ${listed} Answer:`;
}

/** "the cat" -> "The cat." (the paper's choice clean-up). */
export function sentenceCase(choice: string): string {
  const capital = choice.length > 0 ? choice[0]!.toUpperCase() + choice.slice(1) : choice;
  return capital.endsWith('.') ? capital : `${capital}.`;
}

/**
 * Prompts and answer classes from a table. Every row must have the same number of choices (the head
 * has one output per letter); the label map is the letters, kind 'string'.
 */
export function multipleChoiceExamples(table: Table, columns: MultipleChoiceColumns): Examples {
  const questions = table.column(columns.question);
  const answers = table.column(columns.answer);
  const choiceColumns = typeof columns.choices === 'string' ? [table.column(columns.choices)] : columns.choices.map((c) => table.column(c));
  const base = columns.answerIndexBase ?? 0;
  let choiceCount = -1;
  const texts: string[] = [];
  const labels = new Int32Array(table.rowCount);
  for (let i = 0; i < table.rowCount; i++) {
    const question = textValue(table, columns.question, i, questions[i]);
    const choices = rowChoices(table, columns.choices, choiceColumns, i);
    const choicesColumn = typeof columns.choices === 'string' ? columns.choices : columns.choices.join(', ');
    if (choiceCount < 0) {
      choiceCount = choices.length;
      if (choiceCount < 2 || choiceCount > ANSWER_LETTERS.length) {
        throw new DataError({ file: table.path, row: table.rowPlace(i), column: choicesColumn }, `${choiceCount} choices; need 2 to ${ANSWER_LETTERS.length}`);
      }
    } else if (choices.length !== choiceCount) {
      throw new DataError(
        { file: table.path, row: table.rowPlace(i), column: choicesColumn },
        `${choices.length} choices, but earlier rows have ${choiceCount} (every question needs the same number; filter the data)`,
      );
    }
    texts.push(multipleChoicePrompt(question, columns.sentenceCase ? choices.map(sentenceCase) : choices));
    labels[i] = answerIndex(table, columns.answer, i, answers[i], choiceCount, base);
  }
  if (choiceCount < 0) throw new DataError({ file: table.path }, 'no rows');
  return {
    source: table.path,
    rows: Int32Array.from({ length: table.rowCount }, (_, i) => i),
    texts,
    labels,
    labelMap: LabelMap.strings([...ANSWER_LETTERS.slice(0, choiceCount)]),
  };
}

function rowChoices(table: Table, spec: string | readonly string[], values: readonly (readonly unknown[])[], row: number): string[] {
  if (typeof spec !== 'string') return spec.map((name, c) => textValue(table, name, row, values[c]![row]));
  const place = { file: table.path, row: table.rowPlace(row), column: spec };
  let cell = values[0]![row];
  // Hugging Face multiple-choice sets (ARC, CommonsenseQA, OpenBookQA) store {text: [...], label: [...]}.
  if (cell !== null && typeof cell === 'object' && !Array.isArray(cell) && 'text' in cell) cell = (cell as { text: unknown }).text;
  const list = arrayValue(cell, place);
  return Array.from(list, (choice, c) => {
    if (typeof choice !== 'string' || choice.trim() === '') throw new DataError(place, `choice ${c + 1} is ${typeof choice === 'string' ? 'empty' : 'not a string'}`);
    return choice;
  });
}

function answerIndex(table: Table, column: string, row: number, value: unknown, choiceCount: number, base: number): number {
  const place = { file: table.path, row: table.rowPlace(row), column };
  const allowed = `a letter A..${ANSWER_LETTERS[choiceCount - 1]} or an index ${base}..${choiceCount - 1 + base}`;
  let index: number | undefined;
  if (typeof value === 'number' && Number.isInteger(value)) index = value - base;
  else if (typeof value === 'bigint') index = Number(value) - base;
  else if (typeof value === 'string') {
    const s = value.trim();
    if (/^[0-9]+$/.test(s)) index = Number(s) - base;
    else if (/^[A-Za-z]$/.test(s)) index = ANSWER_LETTERS.indexOf(s.toUpperCase());
  }
  if (index === undefined) throw new DataError(place, `answer ${value === undefined || value === null ? 'is missing' : JSON.stringify(typeof value === 'bigint' ? String(value) : value)}; expected ${allowed}`);
  if (index < 0 || index >= choiceCount) throw new DataError(place, `answer ${JSON.stringify(String(value))} is outside the ${choiceCount} choices; expected ${allowed}`);
  return index;
}

/**
 * The single token id of each answer letter under `tokenizer`: what the head reads at the prompt's
 * last position. As the paper does, a letter is encoded alone without special tokens (so a
 * SentencePiece tokenizer gives "▁A"); `leadingSpace` encodes " A" instead (a byte-level BPE's "ĠA",
 * the token that follows "Answer:" in running text). A letter that is not exactly one token is a
 * TokenizerError naming the tokenizer, the letter and the ids it got.
 */
export function answerTokenIds(tokenizer: TextTokenizer, choiceCount: number, options: { leadingSpace?: boolean } = {}): Int32Array {
  if (!Number.isInteger(choiceCount) || choiceCount < 1 || choiceCount > ANSWER_LETTERS.length) {
    throw new TokenizerError(`choice count must be 1..${ANSWER_LETTERS.length}, got ${choiceCount}`);
  }
  const ids = new Int32Array(choiceCount);
  for (let c = 0; c < choiceCount; c++) {
    const letter = ANSWER_LETTERS[c]!;
    const text = options.leadingSpace ? ` ${letter}` : letter;
    const got = tokenizer.encode(text, { specialTokens: false });
    if (got.length !== 1) {
      throw new TokenizerError(
        `${tokenizer.source}: answer letter ${JSON.stringify(text)} is ${got.length} tokens (ids ${JSON.stringify(got)}) under this ${tokenizer.kind} tokenizer; the head needs one token per letter`,
      );
    }
    ids[c] = got[0]!;
  }
  return ids;
}
