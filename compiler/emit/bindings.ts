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

/** How a tensor gets its first value (a lowered network's `tensors`; extra fields are dropped). */
export interface BindingTensorInit {
  path: string;
  shape: readonly number[];
  role: 'param' | 'frozen';
  init: unknown;
}

/** One generated class. */
export interface BindingUnit {
  /** A valid TypeScript class name. */
  name: string;
  doc?: string;
  methods: BindingMethod[];
  /**
   * The network's tensors with their initializers. With them, `create(device, { seed, weights,
   * tensors })` initializes like the live API (api/initialValues.ts); without them (bare
   * programs), `create(device, tensors)` sets what it is given and leaves the rest at zero.
   */
  tensors?: readonly BindingTensorInit[];
}

export interface BindingModuleSpec {
  /** The `.swag` file the module comes from, for the header. */
  source: string;
  units: BindingUnit[];
  /** Where the generated code imports the runtime from (a package path or a relative path). */
  runtimeImport: string;
  /** Where it imports `initialValues` from; default: derived from `runtimeImport` (see `defaultInitImport`). */
  initImport?: string;
}

/**
 * The initializers' module next to a runtime import: `swaglet/runtime` -> `swaglet/init`;
 * `<dir>/runtime/index.ts` -> `<dir>/api/initialValues.ts` (this repository's layout).
 */
export function defaultInitImport(runtimeImport: string): string {
  const m = /^(.*?)runtime(?:\/index(\.[cm]?[jt]s)?)?$/.exec(runtimeImport);
  if (!m || runtimeImport === 'swaglet/runtime' || m[1] === 'swaglet/') return 'swaglet/init';
  return `${m[1]}api/initialValues${m[2] ?? ''}`;
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

function initConstantName(unit: string): string {
  return `${unit.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}_TENSORS`;
}

/** The tensors' initializers as a constant, for `initialValues` at create time. */
function tensorsConstant(unit: BindingUnit): VariableStatementStructure {
  const body = unit.tensors!.map(({ path, shape, role, init }) => JSON.stringify({ path, shape, role, init })).join(',\n');
  return {
    kind: StructureKind.VariableStatement,
    declarationKind: VariableDeclarationKind.Const,
    docs: [`${unit.name}'s tensors and how each gets its first value (initializer, checkpoint, expression).`],
    declarations: [{ name: initConstantName(unit.name), type: 'TensorInit[]', initializer: `[\n${body}\n]` }],
  };
}

function createOptionsInterface(unit: BindingUnit): InterfaceDeclarationStructure {
  const frozen = unit.tensors!.filter((t) => (t.init as { kind?: string }).kind === 'load').map((t) => t.path);
  return {
    kind: StructureKind.Interface,
    name: `${unit.name}CreateOptions`,
    isExported: true,
    docs: [`How \`${unit.name}.create\` sets the first values.`],
    properties: [
      { name: 'seed', type: 'number', hasQuestionToken: true, docs: ["The seed of the parameters' initializers (default 0): the same seed gives the same bytes."] },
      {
        name: 'weights',
        type: 'WeightsOption',
        hasQuestionToken: true,
        docs: [
          `The frozen tensors' values${frozen.length ? ` (${frozen.join(', ')})` : ''}: a map or record of arrays by name, a .safetensors checkpoint ` +
            `(a path, a list, a model.safetensors.index.json, or { files, rename }), or 'zeros' on purpose. ` +
            (frozen.length ? 'Required: missing ones are an error naming them.' : `${unit.name} has none.`),
        ],
      },
      { name: 'tensors', type: `${unit.name}Tensors`, hasQuestionToken: true, docs: ['Values that replace any initial value (parameters, frozen weights, state), by name.'] },
    ],
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
    docs: [unit.tensors ? `Values of ${unit.name}'s parameters, frozen weights and state, by name.` : `Initial values of ${unit.name}'s parameters, frozen weights and state, by name (zeros when absent).`],
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
      createMethod(unit, shared),
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

function createMethod(unit: BindingUnit, shared: ProgramBuffer[]): OptionalKind<MethodDeclarationStructure> {
  if (!unit.tensors) {
    return {
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
    };
  }
  return {
    name: 'create',
    isStatic: true,
    isAsync: true,
    parameters: [
      { name: 'device', type: 'Device' },
      { name: 'options', type: `${unit.name}CreateOptions`, initializer: '{}' },
    ],
    returnType: `Promise<${unit.name}>`,
    docs: [
      `Compiles ${unit.name}'s kernels on \`device\`, allocates its memory and sets every first value: parameters from their ` +
        'initializers (seeded by `options.seed`), frozen tensors from `options.weights`, state at zero, then `options.tensors`.',
    ],
    statements: [
      '// The first values before any device work: a weights problem costs nothing on the device.',
      `const values = await initialValues(${JSON.stringify(unit.name)}, ${initConstantName(unit.name)}, options);`,
      `const module = await loadModule(device, ${constantName(unit.name)});`,
      `const shared = new Set<string>(${JSON.stringify(shared.map((b) => b.name))});`,
      'for (const [name, data] of values) if (shared.has(name)) module.set(name, data);',
      'for (const [name, data] of Object.entries(options.tensors ?? {})) if (data) module.set(name, data);',
      `return new ${unit.name}(module);`,
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
  if (spec.units.some((u) => u.tensors)) {
    file.addImportDeclaration({ moduleSpecifier: spec.initImport ?? defaultInitImport(spec.runtimeImport), namedImports: ['type TensorInit', 'type WeightsOption', 'initialValues'] });
  }
  for (const unit of spec.units) {
    if (!IDENTIFIER.test(unit.name)) throw new Error(`'${unit.name}' is not a valid class name`);
    const shared = sharedBuffers(unit);
    file.addVariableStatement(programsConstant(unit));
    if (unit.tensors) file.addVariableStatement(tensorsConstant(unit));
    file.addInterface(tensorsInterface(unit, shared));
    if (unit.tensors) file.addInterface(createOptionsInterface(unit));
    file.addClass(classStructure(unit, shared));
  }
  file.formatText({ indentSize: 2, convertTabsToSpaces: true });
  return `// Generated by swaglet from ${spec.source}. Do not edit: run \`swaglet compile\` again.\n${file.getFullText()}`;
}
