export * from './metrics.ts';
export * from './report.ts';
export * from './reliability.ts';
