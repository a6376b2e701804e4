import { resolve } from 'node:path';
import { Project, ts } from 'ts-morph';

/**
 * Type-checks files under --strict with the TypeScript that ts-morph ships, resolving imports
 * the way this package does (NodeNext, .ts extensions). Returns the formatted diagnostics of
 * those files only: '' when they are clean.
 */
export function strictDiagnostics(paths: readonly string[]): string {
  const project = new Project({
    compilerOptions: {
      strict: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      allowImportingTsExtensions: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node', '@webgpu/types'],
      typeRoots: [resolve('node_modules/@types'), resolve('node_modules/@webgpu')],
    },
  });
  for (const p of paths) project.addSourceFileAtPath(p);
  project.resolveSourceFileDependencies();
  const diagnostics = project.getPreEmitDiagnostics().filter((d) => paths.includes(d.getSourceFile()?.getFilePath() ?? ''));
  return project.formatDiagnosticsWithColorAndContext(diagnostics);
}
