import { describe, expect, it, beforeAll } from 'vitest';
import { Tokenizer as ReferenceTokenizer } from '@tensorflow-models/universal-sentence-encoder';
import {
  SentencePieceTokenizer,
  VocabularyError,
  loadUseVocabulary,
  type VocabularyPiece,
} from '../../data/tokenizer.ts';
import { loadImdb } from '../../data/imdb.ts';
import { loadSpamAssassin } from '../../data/spam.ts';
import { rng } from '../helpers/random.ts';

// A vocabulary small enough to work every case out by hand (▁ is the word-boundary mark).
const TINY: VocabularyPiece[] = [
  ['\uFFFD', 0], ['<s>', 0], ['</s>', 0], ['x1', 0], ['x2', 0], ['x3', 0],
  ['▁a', -1], // 6
  ['b', -2], // 7
  ['▁ab', -2.5], // 8
  ['▁', -3], // 9
  ['a', -3], // 10
  ['c', -1], // 11
  ['c', -1.5], // 12: duplicate piece, the later id wins
  ['▁q', null], // 13: null score counts as 0
  ['q', -1], // 14
];

function reference(pieces: VocabularyPiece[]): ReferenceTokenizer {
  return new ReferenceTokenizer(pieces as [string, number][]);
}

describe('SentencePieceTokenizer on a hand-made vocabulary', () => {
  const tokenizer = SentencePieceTokenizer.fromPieces(TINY);
  const cases: [string, number[], string][] = [
    ['ab', [8], 'the whole-word piece beats ▁a + b (−2.5 > −3)'],
    ['a b', [6, 9, 7], 'a space becomes ▁'],
    ['a  b', [6, 9, 9, 7], 'repeated spaces are kept, one ▁ each'],
    ['axb', [6, 0, 7], 'a character no piece starts with is unknown (id 0)'],
    ['xyz', [9, 0], 'consecutive unknowns merge into one id 0'],
    ['😀', [9, 0], 'an emoji is two UTF-16 unknowns, merged'],
    ['AB', [9, 0], 'no lower-casing'],
    ['ａｂ', [8], 'NFKC folds full-width letters'],
    ['c', [9, 12], 'a duplicated piece maps to its later id'],
    ['<s>', [9, 0], 'reserved pieces are never matched'],
    ['q', [9, 14], 'a best score of exactly 0 (null piece) counts as unset, as in the reference'],
    ['', [], 'empty input gives no ids'],
    [' ', [9, 9], 'a lone space is ▁ prefix + ▁'],
  ];
  for (const [text, ids, why] of cases) {
    it(`encodes ${JSON.stringify(text)} as ${JSON.stringify(ids)}: ${why}`, () => {
      expect(tokenizer.encode(text)).toEqual(ids);
      expect(reference(TINY).encode(text)).toEqual(ids);
    });
  }

  it('reports its size as the number of pieces', () => {
    expect(tokenizer.size).toBe(TINY.length);
  });

  it('rejects malformed vocabularies with a VocabularyError', () => {
    expect(() => SentencePieceTokenizer.fromPieces(TINY.slice(0, 6))).toThrow(VocabularyError);
    expect(() => SentencePieceTokenizer.fromPieces([...TINY, ['z', 'x'] as unknown as VocabularyPiece])).toThrow(/entry 15/);
    expect(() => SentencePieceTokenizer.fromPieces([['', 0], ...TINY.slice(1)])).toThrow(/unknown piece/);
  });

  it('matches the reference on 300 random strings over the tiny vocabulary', () => {
    const ref = reference(TINY);
    const random = rng(7);
    const alphabet = ['a', 'b', 'c', 'q', ' ', 'x', 'ab', '▁', 'A', '😀', '\u00a0'];
    for (let k = 0; k < 300; k++) {
      let s = '';
      const n = Math.floor(random() * 12);
      for (let i = 0; i < n; i++) s += alphabet[Math.floor(random() * alphabet.length)]!;
      expect(tokenizer.encode(s), JSON.stringify(s)).toEqual(ref.encode(s));
    }
  });
});

describe('SentencePieceTokenizer over the USE-Lite vocabulary', () => {
  let vocabulary: VocabularyPiece[];
  let ours: SentencePieceTokenizer;
  let ref: ReferenceTokenizer;
  let sentences: string[];

  beforeAll(() => {
    vocabulary = loadUseVocabulary();
    ours = SentencePieceTokenizer.fromPieces(vocabulary);
    ref = reference(vocabulary);
    // Real text: sentences from 450 IMDB reviews and the openings of 150 SpamAssassin bodies.
    const reviews = loadImdb();
    const messages = loadSpamAssassin();
    const random = rng(2024);
    sentences = [];
    for (let i = 0; i < 450; i++) {
      const review = reviews[Math.floor(random() * reviews.length)]!.text;
      const parts = review.split(/(?<=[.!?])\s+/);
      sentences.push(parts[Math.floor(random() * parts.length)]!);
    }
    for (let i = 0; i < 150; i++) {
      const body = messages[Math.floor(random() * messages.length)]!.text;
      sentences.push(body.slice(0, 40 + Math.floor(random() * 300)));
    }
  });

  it('loads the 8,000-piece vocabulary with the unknown piece first', () => {
    expect(vocabulary.length).toBe(8000);
    expect(vocabulary[0]![0]).toBe('\uFFFD');
    expect(ours.size).toBe(8000);
  });

  it('gives the reference ids on 600 real sentences from IMDB and SpamAssassin', () => {
    expect(sentences.length).toBe(600);
    let tokens = 0;
    for (const s of sentences) {
      const ids = ours.encode(s);
      expect(ids, s).toEqual(ref.encode(s));
      tokens += ids.length;
    }
    expect(tokens).toBeGreaterThan(6000); // real sentences, not empty strings
  });

  it('gives the reference ids on edge cases', () => {
    const edges = [
      '', ' ', '   ', 'a', 'A', '.', '!!!???...', '\t', '\n\n', 'tab\tand\nnewline', '  leading and trailing  ',
      'I LOVED IT', 'i loved it', 'Ça, c’est très «chouette» — naïve café', 'ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３',
      'ﬁne ﬂow ① ² ™', '😀😀 great 👍🏽 movie 🎬', '日本語のテキスト', 'Здравствуй, мир', 'مرحبا بالعالم',
      '12:30 :) :-) :( ://', '3.14159 1,000,000 2015·2016', 'supercalifragilisticexpialidocious',
      'a'.repeat(300), 'ab'.repeat(150), 'http://www.example.com/path?query=1&x=2', 'e-mail: me@example.org',
      '\u0000\u0001\u007f', '\ud800 lone surrogate', '”5”5 “quoted”', 'x  y   z    w', '\u00a0nbsp\u00a0',
      "don't won't can't it's", '<br /><br />tags', '$$$ 100% FREE!!!', '—–-', 'İstanbul ǅ',
    ];
    for (const s of edges) expect(ours.encode(s), JSON.stringify(s)).toEqual(ref.encode(s));
  });

  it('gives the reference ids on 300 strings glued from random pieces, spaces and stray characters', () => {
    const random = rng(99);
    const extras = [' ', '  ', '😀', 'Ж', '\u00e9', '\u0301', 'ﬁ', '\u2581', '\t'];
    for (let k = 0; k < 300; k++) {
      let s = '';
      const n = 1 + Math.floor(random() * 10);
      for (let i = 0; i < n; i++) {
        s += random() < 0.8
          ? vocabulary[Math.floor(random() * vocabulary.length)]![0]
          : extras[Math.floor(random() * extras.length)]!;
      }
      expect(ours.encode(s), JSON.stringify(s)).toEqual(ref.encode(s));
    }
  });
});
