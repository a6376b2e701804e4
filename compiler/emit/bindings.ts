/**
 * Typed TypeScript bindings for compiled programs, generated with ts-morph from structures (not
 * string edits). One class per compiled unit (an adapter instance, a model, a finetune): a static
 * `create(device, tensors)` that loads its programs and sets its parameters, frozen weights and
 * state; one method per program, typed by the program's inputs and outputs; `parameters()`.
 * The output is stable: the same units give the same bytes.
 */
import { IndentationText, Project, QuoteKind, Scope, StructureKind, VariableDeclarationKind, type ClassDeclarationStructure, type InterfaceDeclarationStructure, type MethodDeclarationStructure, type OptionalKind, type PropertySignatureStructure, type VariableStatementStructure } from 'ts-morph';
import type { Program, ProgramBuffer } from '../../abi/program.ts';

/** One method of a generated class: it runs `program`. */
export interface BindingMethod {
  name: string;
  program: Program;
  doc?: string;
}

/** One generated class. */
export interface BindingUnit {
  /** A valid TypeScript class name. */
  name: string;
  doc?: string;
  methods: BindingMethod[];
}

export interface BindingModuleSpec {
  /** The `.swag` file the module comes from, for the header. */
  source: string;
  units: BindingUnit[];
  /** Where the generated code imports the runtime from (a package path or a relative path). */
  runtimeImport: string;
}

const SHARED_ROLES = new Set(['param', 'frozen', 'state']);
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A property name as TypeScript source: bare when it is an identifier, quoted otherwise. */
function propertyName(name: string): string {
  return IDENTIFIER.test(name) ? name : JSON.stringify(name);
}

function typeText(b: Pick<ProgramBuffer, 'dtype' | 'shape'>): string {
  return `${b.dtype}[${b.shape.join(', ')}]`;
}

function constantName(unit: string): string {
  return `${unit.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}_PROGRAMS`;
}

/** Shared tensors of a unit (params, frozen, state) in first-seen order, with their role. */
function sharedBuffers(unit: BindingUnit): ProgramBuffer[] {
  const seen = new Map<string, ProgramBuffer>();
  for (const m of unit.methods) for (const b of m.program.buffers) if (SHARED_ROLES.has(b.role) && !seen.has(b.name)) seen.set(b.name, b);
  return [...seen.values()];
}

/** A device tensor type with its dtype and static shape: `Tensor<'f32', readonly [8, 6]>`. */
function shapedTensor(b: { dtype: string; shape: readonly number[] }): string {
  return `Tensor<${JSON.stringify(b.dtype)}, readonly [${b.shape.join(', ')}]>`;
}

function feedsOf(program: Program): ProgramBuffer[] {
  return program.buffers.filter((b) => b.role === 'input');
}

function methodStructure(unit: BindingUnit, m: BindingMethod): OptionalKind<MethodDeclarationStructure> {
  const feeds = feedsOf(m.program);
  const outputs = m.program.outputs;
  const feedType = feeds.length ? `{ ${feeds.map((b) => `${propertyName(b.name)}: ProgramFeed`).join('; ')} }` : 'Record<string, never>';
  const outType = `{ ${outputs.map((o) => `${propertyName(o.name)}: ${shapedTensor(o)}`).join('; ')} }`;
  const signature = [
    ...feeds.map((b) => `@param feeds.${b.name} ${typeText(b)}`),
    ...outputs.map((o) => `@returns ${o.name}: ${typeText(o)}`),
  ];
  return {
    name: m.name,
    parameters: [{ name: 'feeds', type: feedType, initializer: feeds.length ? undefined : '{}' }],
    returnType: outType,
    docs: [{ description: `${m.doc ?? `Runs ${unit.name}'s \`${m.name}\` program (${m.program.steps.length} kernel launches, one submit).`}\nOutputs are views, valid until \`${m.name}\` runs again.\n${signature.join('\n')}` }],
    statements: [`return this.module.run(${JSON.stringify(m.name)}, feeds) as ${outType};`],
  };
}

function tensorsInterface(unit: BindingUnit, shared: ProgramBuffer[]): InterfaceDeclarationStructure {
  const properties: OptionalKind<PropertySignatureStructure>[] = shared.map((b) => ({
    name: propertyName(b.name),
    type: 'ArrayLike<number>',
    hasQuestionToken: true,
    docs: [`${b.role} ${typeText(b)}`],
  }));
  return {
    kind: StructureKind.Interface,
    name: `${unit.name}Tensors`,
    isExported: true,
    docs: [`Initial values of ${unit.name}'s parameters, frozen weights and state, by name (zeros when absent).`],
    properties,
  };
}

function classStructure(unit: BindingUnit, shared: ProgramBuffer[]): ClassDeclarationStructure {
  const methodNames = unit.methods.map((m) => JSON.stringify(m.name)).join(' | ');
  const params = shared.filter((b) => b.role === 'param');
  const shapes: Record<string, number[]> = {};
  for (const b of shared) shapes[b.name] = b.shape;
  for (const m of unit.methods) for (const b of feedsOf(m.program)) shapes[b.name] ??= b.shape;
  const shapesText = `{ ${Object.entries(shapes).map(([k, v]) => `${propertyName(k)}: [${v.join(', ')}]`).join(', ')} }`;
  return {
    kind: StructureKind.Class,
    name: unit.name,
    isExported: true,
    docs: unit.doc ? [unit.doc] : undefined,
    properties: [
      { name: 'shapes', isStatic: true, isReadonly: true, initializer: `${shapesText} as const`, docs: ['Shape of every named tensor and input, as compiled.'] },
    ],
    ctors: [{ scope: Scope.Private, parameters: [{ name: 'module', type: `LoadedModule<${methodNames}>`, isReadonly: true, scope: Scope.Private }] }],
    methods: [
      {
        name: 'create',
        isStatic: true,
        isAsync: true,
        parameters: [
          { name: 'device', type: 'Device' },
          { name: 'tensors', type: `${unit.name}Tensors`, initializer: '{}' },
        ],
        returnType: `Promise<${unit.name}>`,
        docs: [`Compiles ${unit.name}'s kernels on \`device\`, allocates its memory and sets the given tensors.`],
        statements: [
          `const module = await loadModule(device, ${constantName(unit.name)});`,
          'for (const [name, data] of Object.entries(tensors)) if (data) module.set(name, data);',
          `return new ${unit.name}(module);`,
        ],
      },
      ...unit.methods.map((m) => methodStructure(unit, m)),
      {
        name: 'parameters',
        returnType: `{ ${params.map((b) => `${propertyName(b.name)}: ${shapedTensor(b)}`).join('; ')} }`,
        docs: ['The trainable tensors, on the device (shared by every program).'],
        statements: [`return { ${params.map((b) => `${propertyName(b.name)}: this.module.tensor(${JSON.stringify(b.name)}) as ${shapedTensor(b)}`).join(', ')} };`],
      },
      {
        name: 'tensor',
        parameters: [{ name: 'name', type: `keyof ${unit.name}Tensors` }],
        returnType: 'Tensor',
        docs: ['Any parameter, frozen weight or state tensor, on the device.'],
        statements: ['return this.module.tensor(name);'],
      },
      { name: 'destroy', returnType: 'void', docs: ['Returns all of its device memory.'], statements: ['this.module.destroy();'] },
    ],
  };
}

function programsConstant(unit: BindingUnit): VariableStatementStructure {
  const methods = unit.methods.map((m) => JSON.stringify(m.name)).join(' | ');
  const body = unit.methods.map((m) => `${JSON.stringify(m.name)}: ${JSON.stringify(m.program, null, 2)}`).join(',\n');
  return {
    kind: StructureKind.VariableStatement,
    declarationKind: VariableDeclarationKind.Const,
    docs: [`${unit.name}'s programs as compiled: buffers, WGSL kernels, launch steps.`],
    declarations: [{ name: constantName(unit.name), type: `Record<${methods}, Program>`, initializer: `{\n${body}\n}` }],
  };
}

/** The text of one generated module. */
export function generateBindings(spec: BindingModuleSpec): string {
  const project = new Project({
    useInMemoryFileSystem: true,
    manipulationSettings: { indentationText: IndentationText.TwoSpaces, quoteKind: QuoteKind.Single },
  });
  const file = project.createSourceFile('bindings.ts', '');
  file.addImportDeclaration({
    moduleSpecifier: spec.runtimeImport,
    namedImports: ['type Device', 'type LoadedModule', 'type Program', 'type ProgramFeed', 'type Tensor', 'loadModule'],
  });
  for (const unit of spec.units) {
    if (!IDENTIFIER.test(unit.name)) throw new Error(`'${unit.name}' is not a valid class name`);
    const shared = sharedBuffers(unit);
    file.addVariableStatement(programsConstant(unit));
    file.addInterface(tensorsInterface(unit, shared));
    file.addClass(classStructure(unit, shared));
  }
  file.formatText({ indentSize: 2, convertTabsToSpaces: true });
  return `// Generated by swaglet from ${spec.source}. Do not edit: run \`swaglet compile\` again.\n${file.getFullText()}`;
}
