import { CstParser, type IToken, type TokenType, tokenMatcher } from 'chevrotain';
import { parserErrorMessages } from './parser-messages.ts';
import * as T from './tokens.ts';

/**
 * The swaglet grammar as a chevrotain CstParser. One instance is built (grammar analysis is
 * costly) and reused for every parse. `recoveryEnabled` lets one parse report many errors; the
 * `stray*` rules swallow text that cannot start a declaration/member/statement so that a
 * mistyped keyword yields one diagnostic and parsing resumes at the next good line.
 *
 * Precedence, loosest first: `+ -`, then `* / @` (left-associative, as in Python), then unary
 * `-`, then postfix `^T`.
 */
export class SwagletParser extends CstParser {
  constructor() {
    super(T.allTokens, {
      recoveryEnabled: true,
      nodeLocationTracking: 'full',
      maxLookahead: 3,
      errorMessageProvider: parserErrorMessages,
    });
    this.performSelfAnalysis();
  }

  /**
   * Where re-sync recovery resumes. Chevrotain takes the first follow-set entry that matches,
   * searching the outermost rule first; with the token categories of the stray rules an outer
   * category often matches, and recovery then unwinds to the top level, skipping whole blocks.
   * Searching the innermost rule first resumes as close to the error as possible.
   */
  findReSyncTokenType(): TokenType {
    const self = this as unknown as {
      buildFullFollowKeyStack(): unknown[];
      getFollowSetFromFollowKey(key: unknown): TokenType[] | undefined;
    };
    const levels = self.buildFullFollowKeyStack().map((k) => self.getFollowSetFromFollowKey(k) ?? []).reverse();
    for (let k = 1; ; k++) {
      const t = this.LA(k);
      for (const follow of levels) {
        const hit = follow.find((type) => tokenMatcher(t, type));
        if (hit) return hit;
      }
    }
  }

  /** Text that cannot start what the enclosing list expects, up to the next thing that can (or its closing `}`). */
  private swallow(first: TokenType, isStop: (t: IToken) => boolean): void {
    let depth = 0;
    const track = (t: IToken) => {
      if (t.tokenType === T.LCurly) depth++;
      else if (t.tokenType === T.RCurly) depth--;
    };
    const t0 = this.CONSUME(first);
    this.ACTION(() => track(t0));
    this.MANY({
      // A declaration keyword at the start of a line always ends the stray text: an unclosed
      // `{` must not swallow the rest of the file.
      GATE: () => {
        const t = this.LA(1);
        if (T.DECL_KEYWORDS.includes(t.image) && t.startColumn === 1) return false;
        return depth > 0 || !isStop(t);
      },
      DEF: () => {
        const t = this.CONSUME(T.AnyToken);
        this.ACTION(() => track(t));
      },
    });
  }

  public file = this.RULE('file', () => {
    this.MANY(() =>
      this.OR([
        { ALT: () => this.SUBRULE(this.importDecl) },
        { ALT: () => this.SUBRULE(this.adapterDecl) },
        { ALT: () => this.SUBRULE(this.blockDecl) },
        { ALT: () => this.SUBRULE(this.posteriorDecl) },
        { ALT: () => this.SUBRULE(this.finetuneDecl) },
        { ALT: () => this.SUBRULE(this.strayDecl) },
      ]),
    );
  });

  public strayDecl = this.RULE('strayDecl', () => {
    this.swallow(T.NotDeclStart, (t) => !t.tokenType.CATEGORIES?.includes(T.NotDeclStart));
  });

  public importDecl = this.RULE('importDecl', () => {
    this.CONSUME(T.Import);
    this.CONSUME(T.StringLiteral);
  });

  public adapterDecl = this.RULE('adapterDecl', () => {
    this.CONSUME(T.Adapter);
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.OPTION(() => this.SUBRULE(this.paramList));
    this.CONSUME(T.On);
    this.CONSUME(T.Linear);
    this.CONSUME(T.LParen);
    this.CONSUME2(T.Identifier, { LABEL: 'weight' });
    this.CONSUME(T.Colon);
    this.SUBRULE(this.shape);
    this.CONSUME(T.RParen);
    this.SUBRULE(this.body);
  });

  public blockDecl = this.RULE('blockDecl', () => {
    this.OR([{ ALT: () => this.CONSUME(T.Block, { LABEL: 'keyword' }) }, { ALT: () => this.CONSUME(T.Model, { LABEL: 'keyword' }) }]);
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.OPTION(() => this.SUBRULE(this.paramList));
    this.SUBRULE(this.body);
  });

  public body = this.RULE('body', () => {
    this.CONSUME(T.LCurly);
    this.MANY(() =>
      this.OR([
        { ALT: () => this.SUBRULE(this.paramMember) },
        { ALT: () => this.SUBRULE(this.frozenMember) },
        { ALT: () => this.SUBRULE(this.linearMember) },
        { ALT: () => this.SUBRULE(this.instanceMember) },
        { ALT: () => this.SUBRULE(this.dimMember) },
        { ALT: () => this.SUBRULE(this.fnMember) },
        { ALT: () => this.SUBRULE(this.penaltyMember) },
        { ALT: () => this.SUBRULE(this.strayMember) },
      ]),
    );
    this.CONSUME(T.RCurly);
  });

  public strayMember = this.RULE('strayMember', () => {
    this.swallow(T.NotMemberStart, (t) => !t.tokenType.CATEGORIES?.includes(T.NotMemberStart));
  });

  public paramList = this.RULE('paramList', () => {
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.SUBRULE(this.declParam);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.declParam);
      });
    });
    this.CONSUME(T.RParen);
  });

  public declParam = this.RULE('declParam', () => {
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.CONSUME(T.Colon);
    this.SUBRULE(this.type);
    this.OPTION(() => {
      this.CONSUME(T.Equals);
      this.SUBRULE(this.expr, { LABEL: 'default' });
    });
  });

  public type = this.RULE('type', () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Dim) },
      {
        ALT: () => {
          this.OR2([{ ALT: () => this.CONSUME(T.F32, { LABEL: 'elem' }) }, { ALT: () => this.CONSUME(T.I32, { LABEL: 'elem' }) }]);
          this.OPTION(() => this.SUBRULE(this.shape));
        },
      },
      { ALT: () => this.SUBRULE2(this.shape) },
    ]);
  });

  /** `[a, b, 3 * c]`: a shape in a type, or a list of sizes as an argument. */
  public shape = this.RULE('shape', () => {
    this.CONSUME(T.LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.expr);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.expr);
      });
    });
    this.CONSUME(T.RBracket);
  });

  public paramMember = this.RULE('paramMember', () => {
    this.CONSUME(T.Param);
    this.SUBRULE(this.path);
    this.CONSUME(T.Colon);
    this.SUBRULE(this.type);
    this.OPTION(() => {
      this.CONSUME(T.Equals);
      this.SUBRULE(this.expr, { LABEL: 'init' });
    });
  });

  public frozenMember = this.RULE('frozenMember', () => {
    this.CONSUME(T.Frozen);
    this.SUBRULE(this.path);
    this.CONSUME(T.Colon);
    this.SUBRULE(this.type);
    this.OPTION(() => {
      this.CONSUME(T.Equals);
      this.SUBRULE(this.expr, { LABEL: 'init' });
    });
  });

  public linearMember = this.RULE('linearMember', () => {
    this.CONSUME(T.Linear);
    this.SUBRULE(this.path);
    this.CONSUME(T.Colon);
    this.SUBRULE(this.shape);
    this.OPTION(() => {
      this.CONSUME(T.Plus);
      this.CONSUME(T.Identifier, { LABEL: 'bias' });
    });
  });

  public instanceMember = this.RULE('instanceMember', () => {
    this.CONSUME(T.Block);
    this.SUBRULE(this.path);
    this.CONSUME(T.Equals);
    this.CONSUME(T.Identifier, { LABEL: 'block' });
    this.SUBRULE(this.argList);
  });

  public dimMember = this.RULE('dimMember', () => {
    this.CONSUME(T.Dim);
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expr);
  });

  public penaltyMember = this.RULE('penaltyMember', () => {
    this.CONSUME(T.Penalty);
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expr);
  });

  public fnMember = this.RULE('fnMember', () => {
    this.CONSUME(T.Fn);
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.SUBRULE(this.fnParam);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.fnParam);
      });
    });
    this.CONSUME(T.RParen);
    this.OPTION2(() => {
      this.CONSUME(T.Arrow);
      this.SUBRULE(this.type, { LABEL: 'returns' });
    });
    this.CONSUME(T.LCurly);
    this.MANY2(() =>
      this.OR([
        { ALT: () => this.SUBRULE(this.letStmt) },
        { ALT: () => this.SUBRULE(this.returnStmt) },
        { ALT: () => this.SUBRULE(this.strayStmt) },
      ]),
    );
    this.CONSUME(T.RCurly);
  });

  public fnParam = this.RULE('fnParam', () => {
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.CONSUME(T.Colon);
    this.SUBRULE(this.type);
  });

  public letStmt = this.RULE('letStmt', () => {
    this.CONSUME(T.Let);
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.OPTION(() => {
      this.CONSUME(T.Colon);
      this.SUBRULE(this.type);
    });
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expr);
  });

  public returnStmt = this.RULE('returnStmt', () => {
    this.CONSUME(T.Return);
    this.SUBRULE(this.expr);
  });

  public strayStmt = this.RULE('strayStmt', () => {
    this.swallow(T.NotStmtStart, (t) => !t.tokenType.CATEGORIES?.includes(T.NotStmtStart));
  });

  public posteriorDecl = this.RULE('posteriorDecl', () => {
    this.CONSUME(T.Posterior);
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.OPTION(() => this.SUBRULE(this.paramList));
    this.CONSUME(T.Over);
    this.CONSUME2(T.Identifier, { LABEL: 'over' });
    // `over params posthoc`: collected after training, one pass over the data (Laplace).
    this.OPTION2(() => this.CONSUME3(T.Identifier, { LABEL: 'mode' }));
    this.CONSUME(T.LCurly);
    this.MANY(() =>
      this.OR([
        { ALT: () => this.SUBRULE(this.statMember) },
        { ALT: () => this.SUBRULE(this.sampleMember) },
        { ALT: () => this.SUBRULE(this.straySection) },
      ]),
    );
    this.CONSUME(T.RCurly);
  });

  public statMember = this.RULE('statMember', () => {
    this.CONSUME(T.Stat);
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expr);
  });

  public sampleMember = this.RULE('sampleMember', () => {
    this.CONSUME(T.Sample);
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.SUBRULE(this.noiseParam);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.noiseParam);
      });
    });
    this.CONSUME(T.RParen);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expr);
  });

  public noiseParam = this.RULE('noiseParam', () => {
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.CONSUME(T.Colon);
    this.CONSUME2(T.Identifier, { LABEL: 'dist' });
    this.OPTION(() => this.SUBRULE(this.shape));
  });

  public straySection = this.RULE('straySection', () => {
    this.swallow(T.NotSectionStart, (t) => !t.tokenType.CATEGORIES?.includes(T.NotSectionStart));
  });

  public finetuneDecl = this.RULE('finetuneDecl', () => {
    this.CONSUME(T.Finetune);
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.CONSUME(T.Equals);
    this.CONSUME2(T.Identifier, { LABEL: 'model' });
    this.OPTION(() => this.SUBRULE(this.argList));
    this.CONSUME(T.LCurly);
    this.MANY(() =>
      this.OR([
        { ALT: () => this.SUBRULE(this.adaptMember) },
        { ALT: () => this.SUBRULE(this.usePosterior) },
        { ALT: () => this.SUBRULE(this.straySection) },
      ]),
    );
    this.CONSUME(T.RCurly);
  });

  public adaptMember = this.RULE('adaptMember', () => {
    this.CONSUME(T.Adapt);
    this.CONSUME(T.StringLiteral, { LABEL: 'target' });
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.CONSUME2(T.StringLiteral, { LABEL: 'target' });
    });
    this.CONSUME(T.With);
    this.CONSUME(T.Identifier, { LABEL: 'adapter' });
    this.OPTION(() => this.SUBRULE(this.argList));
  });

  public usePosterior = this.RULE('usePosterior', () => {
    this.CONSUME(T.Posterior);
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.OPTION(() => this.SUBRULE(this.argList));
  });

  /** `a.b.0.c` */
  public path = this.RULE('path', () => {
    this.CONSUME(T.Identifier, { LABEL: 'segment' });
    this.MANY(() => {
      this.CONSUME(T.Dot);
      this.OR([
        { ALT: () => this.CONSUME2(T.Identifier, { LABEL: 'segment' }) },
        { ALT: () => this.CONSUME(T.NumberLiteral, { LABEL: 'segment' }) },
      ]);
    });
  });

  public argList = this.RULE('argList', () => {
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.SUBRULE(this.arg);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.arg);
      });
    });
    this.CONSUME(T.RParen);
  });

  public arg = this.RULE('arg', () => {
    this.OPTION(() => {
      this.CONSUME(T.Identifier, { LABEL: 'name' });
      this.CONSUME(T.Colon);
    });
    this.SUBRULE(this.expr);
  });

  public expr = this.RULE('expr', () => {
    this.SUBRULE(this.product, { LABEL: 'operand' });
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(T.Plus, { LABEL: 'op' }) }, { ALT: () => this.CONSUME(T.Minus, { LABEL: 'op' }) }]);
      this.SUBRULE2(this.product, { LABEL: 'operand' });
    });
  });

  public product = this.RULE('product', () => {
    this.SUBRULE(this.unary, { LABEL: 'operand' });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Star, { LABEL: 'op' }) },
        { ALT: () => this.CONSUME(T.Slash, { LABEL: 'op' }) },
        { ALT: () => this.CONSUME(T.At, { LABEL: 'op' }) },
      ]);
      this.SUBRULE2(this.unary, { LABEL: 'operand' });
    });
  });

  public unary = this.RULE('unary', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Minus);
          this.SUBRULE(this.unary);
        },
      },
      { ALT: () => this.SUBRULE(this.postfix) },
    ]);
  });

  public postfix = this.RULE('postfix', () => {
    this.SUBRULE(this.primary);
    this.MANY(() => this.CONSUME(T.Transpose));
  });

  public primary = this.RULE('primary', () => {
    this.OR([
      { ALT: () => this.CONSUME(T.NumberLiteral) },
      { ALT: () => this.CONSUME(T.True) },
      { ALT: () => this.CONSUME(T.False) },
      {
        ALT: () => {
          this.SUBRULE(this.path);
          this.OPTION(() => this.SUBRULE(this.argList));
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.LParen);
          this.SUBRULE(this.expr);
          this.CONSUME(T.RParen);
        },
      },
      { ALT: () => this.SUBRULE(this.shape) },
    ]);
  });
}

let instance: SwagletParser | undefined;

/** The shared parser (built on first use). */
export function swagletParser(): SwagletParser {
  instance ??= new SwagletParser();
  return instance;
}
