/**
 * parseGraph: printGraph's text back into a Graph, so a pass test can start from IR text and
 * check the text that comes out (FileCheck-style) as well as the numbers.
 *
 *   %0 "x": f32[2, 3] = input "x"              (role input; `param "A"`, `frozen "W"`, `state "m"`)
 *   %1: f32[2, 3] = relu(%0)  # lora.swag:6:12
 *   %2: f32[3, 2] = transpose(%1) {perm: [1, 0]}
 *   outputs: y = %2
 *
 * Attrs the printer leaves out come back: defaults from the op's schema, and the `shape` and
 * `dtype` attrs the node's type shows. The result is verified; bad text throws an `IRError`
 * naming the line.
 */
import { IRError } from './errors.ts';
import type { AttrValue, DType, Graph, GraphInput, GraphOutput, InputRole, Node, Span } from './graph.ts';
import { OPS, isOpName, type OpName } from './ops/index.ts';
import { verifyGraph } from './verify.ts';

const ROLES: readonly string[] = ['input', 'param', 'frozen', 'state'];

/** A cursor over one line. */
class Line {
  pos = 0;
  constructor(
    readonly text: string,
    readonly lineNumber: number,
  ) {}

  fail(what: string): never {
    throw new IRError(`IR line ${this.lineNumber}: ${what} at column ${this.pos + 1}: ${this.text}`);
  }
  skipSpaces(): void {
    while (this.text[this.pos] === ' ') this.pos++;
  }
  eat(token: string): boolean {
    this.skipSpaces();
    if (!this.text.startsWith(token, this.pos)) return false;
    this.pos += token.length;
    return true;
  }
  expect(token: string): void {
    if (!this.eat(token)) this.fail(`expected '${token}'`);
  }
  match(re: RegExp, what: string): string {
    this.skipSpaces();
    const m = re.exec(this.text.slice(this.pos));
    if (!m || m.index !== 0) this.fail(`expected ${what}`);
    this.pos += m[0].length;
    return m[0];
  }
  number(): number {
    const n = Number(this.match(/-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|-?Infinity|NaN/, 'a number'));
    return n;
  }
  string(): string {
    const s = this.match(/"(?:[^"\\]|\\.)*"/, 'a string');
    return JSON.parse(s) as string;
  }
  id(): number {
    return Number(this.match(/%\d+/, 'a node id (%N)').slice(1));
  }
  numbers(): number[] {
    this.expect('[');
    const out: number[] = [];
    if (this.eat(']')) return out;
    do out.push(this.number());
    while (this.eat(','));
    this.expect(']');
    return out;
  }
  value(): AttrValue {
    this.skipSpaces();
    const c = this.text[this.pos];
    if (c === '"') return this.string();
    if (c === '[') return this.numbers();
    if (this.eat('true')) return true;
    if (this.eat('false')) return false;
    return this.number();
  }
  done(): boolean {
    this.skipSpaces();
    return this.pos >= this.text.length;
  }
}

/** Parses printGraph's text (see the module doc) into a verified Graph. */
export function parseGraph(text: string): Graph {
  const nodes: Node[] = [];
  const inputs: GraphInput[] = [];
  let outputs: GraphOutput[] | undefined;
  text.split('\n').forEach((raw, i) => {
    // A comment line, or a span comment after two spaces; spans hold no '#'.
    const hash = raw.lastIndexOf('  # ');
    const body = raw.trimStart().startsWith('#') ? '' : hash >= 0 ? raw.slice(0, hash) : raw;
    const spanText = hash >= 0 && body !== '' ? raw.slice(hash + 4).trim() : undefined;
    const line = new Line(body.trimEnd(), i + 1);
    if (line.done()) return;
    if (outputs) line.fail('text after the outputs line');
    if (line.eat('outputs:')) {
      outputs = [];
      if (line.done()) return;
      do {
        const name = line.match(/[^\s=,]+/, 'an output name');
        line.expect('=');
        const node = line.id();
        if (node >= nodes.length) line.fail(`%${node} is not defined yet`);
        outputs.push({ name, node });
      } while (line.eat(','));
      if (!line.done()) line.fail('unexpected text');
      return;
    }
    const id = line.id();
    if (id !== nodes.length) line.fail(`expected %${nodes.length} (nodes are numbered in order)`);
    line.skipSpaces();
    const name = line.text[line.pos] === '"' ? line.string() : undefined;
    line.expect(':');
    const dtype = line.match(/f32|i32/, 'a dtype (f32 or i32)') as DType;
    const shape = line.numbers();
    line.expect('=');
    const opName = line.match(/[A-Za-z_]\w*/, 'an op name');
    let attrs: Record<string, AttrValue>;
    let operands: number[] = [];
    line.skipSpaces();
    if (ROLES.includes(opName) && line.text[line.pos] === '"') {
      // An input: `<role> "<name>"`.
      const inputName = line.string();
      attrs = { name: inputName, role: opName, shape, dtype };
      inputs.push({ name: inputName, role: opName as InputRole, node: id });
      if (!line.done()) line.fail('unexpected text after an input');
      nodes.push(node(id, 'input', [], attrs, shape, dtype, name, spanText, line));
      return;
    }
    if (!isOpName(opName)) line.fail(`unknown op '${opName}'`);
    if (line.eat('(')) {
      if (!line.eat(')')) {
        do {
          const operand = line.id();
          if (operand >= id) line.fail(`%${operand} is not defined before %${id}`);
          operands.push(operand);
        } while (line.eat(','));
        line.expect(')');
      }
    }
    const spec = OPS[opName as OpName];
    attrs = {};
    for (const [key, attr] of Object.entries(spec.attrs)) if (attr.default !== undefined) attrs[key] = attr.default;
    if ('shape' in spec.attrs) attrs.shape = shape;
    if ('dtype' in spec.attrs && spec.attrs.dtype!.printed === false) attrs.dtype = dtype;
    if (line.eat('{')) {
      if (!line.eat('}')) {
        do {
          const key = line.match(/[A-Za-z_]\w*/, 'an attr name');
          if (!(key in spec.attrs)) line.fail(`${opName} has no attr '${key}'`);
          line.expect(':');
          attrs[key] = line.value();
        } while (line.eat(','));
        line.expect('}');
      }
    }
    if (!line.done()) line.fail('unexpected text');
    nodes.push(node(id, opName as OpName, operands, attrs, shape, dtype, name, spanText, line));
  });
  if (!outputs) throw new IRError('IR: no outputs line');
  const g: Graph = { nodes, inputs, outputs };
  verifyGraph(g);
  return g;
}

function node(id: number, op: Node['op'], inputs: number[], attrs: Record<string, AttrValue>, shape: number[], dtype: DType, name: string | undefined, spanText: string | undefined, line: Line): Node {
  let span: Span | undefined;
  if (spanText !== undefined) {
    const m = /^(.*):(\d+):(\d+)$/.exec(spanText);
    if (!m) line.fail(`expected a span file:line:col after '#', got '${spanText}'`);
    span = { file: m[1]!, line: Number(m[2]), col: Number(m[3]) };
  }
  return { id, op, inputs, attrs, shape, dtype, ...(span ? { span } : {}), ...(name !== undefined ? { name } : {}) };
}
