import { type CustomPatternMatcherFunc, Lexer, type TokenType, createToken } from 'chevrotain';

/*
 * The token vocabulary. Besides the real tokens there are four *categories* that no text lexes
 * to; the parser's error-recovery rules consume "any token that cannot start a declaration /
 * member / statement" through them, so one typo'd keyword costs one diagnostic, not a cascade.
 */

/** Every real token belongs to this category. */
export const AnyToken = createToken({ name: 'AnyToken', pattern: Lexer.NA });
/** Tokens that cannot start a top-level declaration. */
export const NotDeclStart = createToken({ name: 'NotDeclStart', pattern: Lexer.NA });
/** Tokens that cannot start a member of an adapter/block/model body (nor close it). */
export const NotMemberStart = createToken({ name: 'NotMemberStart', pattern: Lexer.NA });
/** Tokens that cannot start a statement of a fn body (nor close it, nor start a member). */
export const NotStmtStart = createToken({ name: 'NotStmtStart', pattern: Lexer.NA });
/** Tokens that cannot start a member of a posterior or finetune body (nor close it). */
export const NotSectionStart = createToken({ name: 'NotSectionStart', pattern: Lexer.NA });

const declKeywords = ['adapter', 'block', 'model', 'posterior', 'finetune', 'import'] as const;
const memberKeywords = ['param', 'frozen', 'linear', 'block', 'dim', 'fn', 'penalty'] as const;
const stmtKeywords = ['let', 'return'] as const;
const sectionKeywords = ['stat', 'sample', 'adapt', 'posterior'] as const;
const otherKeywords = ['on', 'over', 'with', 'f32', 'i32', 'true', 'false'] as const;

export const DECL_KEYWORDS: readonly string[] = declKeywords;
export const MEMBER_KEYWORDS: readonly string[] = memberKeywords;
export const STMT_KEYWORDS: readonly string[] = stmtKeywords;
export const SECTION_KEYWORDS: readonly string[] = sectionKeywords;

const keywordNames = [...new Set<string>([...declKeywords, ...memberKeywords, ...stmtKeywords, ...sectionKeywords, ...otherKeywords])];

/** Which recovery categories a token with this image belongs to. */
function categoriesFor(image: string): TokenType[] {
  const cats = [AnyToken];
  const isDecl = DECL_KEYWORDS.includes(image);
  if (!isDecl) cats.push(NotDeclStart);
  if (!isDecl && !MEMBER_KEYWORDS.includes(image) && image !== '}') cats.push(NotMemberStart);
  if (!isDecl && !MEMBER_KEYWORDS.includes(image) && !STMT_KEYWORDS.includes(image) && image !== '}') cats.push(NotStmtStart);
  if (!isDecl && !SECTION_KEYWORDS.includes(image) && image !== '}') cats.push(NotSectionStart);
  return cats;
}

export const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_]*/, categories: categoriesFor('x'), label: 'a name' });

function keyword(word: string): TokenType {
  const name = word[0]!.toUpperCase() + word.slice(1);
  return createToken({ name, pattern: new RegExp(word), longer_alt: Identifier, categories: categoriesFor(word), label: `'${word}'` });
}

export const Keywords: Record<string, TokenType> = Object.fromEntries(keywordNames.map((w) => [w, keyword(w)]));
export const Adapter = Keywords.adapter!;
export const Block = Keywords.block!;
export const Model = Keywords.model!;
export const Posterior = Keywords.posterior!;
export const Finetune = Keywords.finetune!;
export const Import = Keywords.import!;
export const Param = Keywords.param!;
export const Frozen = Keywords.frozen!;
export const Linear = Keywords.linear!;
export const Dim = Keywords.dim!;
export const Fn = Keywords.fn!;
export const Penalty = Keywords.penalty!;
export const Let = Keywords.let!;
export const Return = Keywords.return!;
export const Stat = Keywords.stat!;
export const Sample = Keywords.sample!;
export const Adapt = Keywords.adapt!;
export const On = Keywords.on!;
export const Over = Keywords.over!;
export const With = Keywords.with!;
export const F32 = Keywords.f32!;
export const I32 = Keywords.i32!;
export const True = Keywords.true!;
export const False = Keywords.false!;

/**
 * Numbers: `3`, `0.5`, `1e-30`. Right after a `.` only digits match, so that the path
 * `layers.0.ffn` lexes as `layers . 0 . ffn` and `layers.0.1` as `layers . 0 . 1`.
 */
const matchNumber: CustomPatternMatcherFunc = (text, offset) => {
  const re = text[offset - 1] === '.' ? /\d+/y : /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  re.lastIndex = offset;
  return re.exec(text);
};
export const NumberLiteral = createToken({
  name: 'NumberLiteral',
  pattern: { exec: matchNumber },
  line_breaks: false,
  start_chars_hint: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  categories: categoriesFor('0'),
  label: 'a number',
});
export const StringLiteral = createToken({ name: 'StringLiteral', pattern: /"[^"\n\r]*"/, categories: categoriesFor('""'), label: 'a string' });
/** A string missing its closing quote: reported by the lexer, parsed as a string so one mistake gives one message. */
export const UnterminatedString = createToken({ name: 'UnterminatedString', pattern: /"[^"\n\r]*/, categories: [...categoriesFor('""'), StringLiteral], label: 'a string' });

function punct(name: string, pattern: RegExp, image: string): TokenType {
  return createToken({ name, pattern, categories: categoriesFor(image), label: `'${image}'` });
}
export const Arrow = punct('Arrow', /->/, '->');
export const Transpose = punct('Transpose', /\^T(?![A-Za-z0-9_])/, '^T');
export const LParen = punct('LParen', /\(/, '(');
export const RParen = punct('RParen', /\)/, ')');
export const LCurly = punct('LCurly', /\{/, '{');
export const RCurly = punct('RCurly', /\}/, '}');
export const LBracket = punct('LBracket', /\[/, '[');
export const RBracket = punct('RBracket', /\]/, ']');
export const Comma = punct('Comma', /,/, ',');
export const Colon = punct('Colon', /:/, ':');
export const Equals = punct('Equals', /=/, '=');
export const Plus = punct('Plus', /\+/, '+');
export const Minus = punct('Minus', /-/, '-');
export const Star = punct('Star', /\*/, '*');
export const Slash = punct('Slash', /\//, '/');
export const At = punct('At', /@/, '@');
export const Dot = punct('Dot', /\./, '.');

export const Comment = createToken({ name: 'Comment', pattern: /\/\/[^\n\r]*/, group: 'comments' });
export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\n]+/, group: Lexer.SKIPPED });

/** Lexer order matters: comments before `/`, `->` before `-`, keywords before identifiers. */
export const allTokens: TokenType[] = [
  WhiteSpace,
  Comment,
  Arrow,
  Transpose,
  LParen,
  RParen,
  LCurly,
  RCurly,
  LBracket,
  RBracket,
  Comma,
  Colon,
  Equals,
  Plus,
  Minus,
  Star,
  Slash,
  At,
  Dot,
  NumberLiteral,
  StringLiteral,
  UnterminatedString,
  ...Object.values(Keywords),
  Identifier,
  AnyToken,
  NotDeclStart,
  NotMemberStart,
  NotStmtStart,
  NotSectionStart,
];
