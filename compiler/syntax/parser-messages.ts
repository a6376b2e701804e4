import { EOF, type IParserErrorMessageProvider, type IToken, type TokenType } from 'chevrotain';

/** What each grammar rule is called in an error message ("expected an expression"). */
const RULE_DESCRIPTIONS: Record<string, string> = {
  file: 'a declaration (adapter, block, model, posterior, finetune or import)',
  type: "a type (dim, f32, i32 or a shape such as '[n, d]')",
  primary: 'an expression',
  unary: 'an expression',
  postfix: 'an expression',
  product: 'an expression',
  expr: 'an expression',
  path: 'a name',
  arg: 'an argument',
  body: 'a member (param, frozen, linear, block, dim or fn)',
};

export function describeToken(t: IToken | undefined): string {
  if (!t || t.tokenType === EOF || !t.image) return 'the end of the file';
  return `'${t.image}'`;
}

export function tokenLabel(t: TokenType): string {
  return t.LABEL ?? t.name;
}

function alternatives(labels: string[]): string {
  const unique = [...new Set(labels)];
  if (unique.length <= 1) return unique[0] ?? 'something else';
  return `${unique.slice(0, -1).join(', ')} or ${unique[unique.length - 1]}`;
}

/** Short, plain-English parser messages; positions are added by the caller. */
export const parserErrorMessages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual }) {
    return `expected ${tokenLabel(expected)} but found ${describeToken(actual)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return `unexpected ${describeToken(firstRedundant)}`;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, ruleName }) {
    const firsts = expectedPathsPerAlt.flatMap((alt) => alt.map((path) => (path[0] ? tokenLabel(path[0]) : '')));
    const what = RULE_DESCRIPTIONS[ruleName] ?? alternatives(firsts.filter(Boolean));
    return `expected ${what} but found ${describeToken(actual[0])}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, ruleName }) {
    const what = RULE_DESCRIPTIONS[ruleName] ?? alternatives(expectedIterationPaths.map((path) => (path[0] ? tokenLabel(path[0]) : '')).filter(Boolean));
    return `expected ${what} but found ${describeToken(actual[0])}`;
  },
};
