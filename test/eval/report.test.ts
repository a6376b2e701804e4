import { describe, expect, it } from 'vitest';
import type { ReliabilityBin } from '../../eval/metrics.ts';
import { metricDirection, renderMarkdown, ReportInputError, toJson, type MethodResult } from '../../eval/report.ts';

const results: MethodResult[] = [
  { method: 'MAP', split: 'test', metrics: { accuracy: 0.91, nll: 0.412, ece: 0.071 } },
  { method: 'SWAG', split: 'test', metrics: { accuracy: 0.905, nll: 0.298, ece: 0.019 } },
  { method: 'Ensemble', split: 'test', metrics: { accuracy: 0.91, nll: 0.301, ece: 0.0252 } },
  { method: 'MAP', split: 'ood', metrics: { accuracy: 0.6, nll: 1.5, auroc: 0.7 } },
  { method: 'SWAG', split: 'ood', metrics: { accuracy: 0.62, nll: 1.1 } },
];

describe('metricDirection', () => {
  it('reads the direction from the words of a metric name', () => {
    expect(metricDirection('nll')).toBe('lower');
    expect(metricDirection('ECE')).toBe('lower');
    expect(metricDirection('brier')).toBe('lower');
    expect(metricDirection('accuracy')).toBe('higher');
    expect(metricDirection('ood_auroc_entropy')).toBe('higher');
    expect(metricDirection('oodAurocMaxProb')).toBe('higher');
    expect(metricDirection('precision')).toBeUndefined(); // contains "ec" but is no ECE
    expect(metricDirection('seconds')).toBeUndefined();
  });
});

describe('renderMarkdown', () => {
  it('writes one table per split with methods as rows, bolding the best value per column', () => {
    const md = renderMarkdown(results, { title: 'CIFAR-ish', notes: ['3 seeds', 'S = 30 samples'] });
    // Best: accuracy 0.91 (tie, MAP and Ensemble), nll 0.298 (SWAG), ece 0.019 (SWAG);
    // on ood: accuracy 0.62 and nll 1.1 (SWAG); auroc has a single value so nothing to compare.
    expect(md).toBe(
      [
        '# CIFAR-ish',
        '',
        '## test',
        '',
        '| method | accuracy ↑ | nll ↓ | ece ↓ |',
        '| :-- | --: | --: | --: |',
        '| MAP | **0.9100** | 0.4120 | 0.0710 |',
        '| SWAG | 0.9050 | **0.2980** | **0.0190** |',
        '| Ensemble | **0.9100** | 0.3010 | 0.0252 |',
        '',
        '## ood',
        '',
        '| method | accuracy ↑ | nll ↓ | auroc ↑ |',
        '| :-- | --: | --: | --: |',
        '| MAP | 0.6000 | 1.5000 | 0.7000 |',
        '| SWAG | **0.6200** | **1.1000** | — |',
        '',
        '- 3 seeds',
        '- S = 30 samples',
        '',
      ].join('\n'),
    );
  });

  it('judges the best on the printed digits, so values that print alike are bolded alike', () => {
    const md = renderMarkdown(
      [
        { method: 'a', split: 's', metrics: { nll: 0.12341 } },
        { method: 'b', split: 's', metrics: { nll: 0.12339 } },
        { method: 'c', split: 's', metrics: { nll: 0.2 } },
      ],
      { title: 't', digits: 3 },
    );
    expect(md).toContain('| a | **0.123** |');
    expect(md).toContain('| b | **0.123** |');
    expect(md).toContain('| c | 0.200 |');
  });

  it('escapes pipes in names, prints NaN as n/a without bolding it, and honours direction overrides', () => {
    const md = renderMarkdown(
      [
        { method: 'LoRA | r=8', split: 's', metrics: { speed: 10, nll: NaN } },
        { method: 'DoRA', split: 's', metrics: { speed: 12, nll: 0.5 } },
      ],
      { title: 't', directions: { speed: 'higher' } },
    );
    expect(md).toContain('| method | speed ↑ | nll ↓ |');
    expect(md).toContain('| LoRA \\| r=8 | 10.0000 | n/a |');
    expect(md).toContain('| DoRA | **12.0000** | 0.5000 |');
  });

  it('gives the same bytes for the same input and rejects a method listed twice on a split', () => {
    expect(renderMarkdown(results, { title: 'x' })).toBe(renderMarkdown(structuredClone(results), { title: 'x' }));
    expect(() => renderMarkdown([...results, results[0]!], { title: 'x' })).toThrow(ReportInputError);
  });
});

describe('toJson', () => {
  const bins: ReliabilityBin[] = [{ confidence: 0.7, accuracy: 0.5, count: 2, hi: 1, lo: 0.5 }];

  it('sorts metric keys and orders bin keys lo, hi, count, accuracy, confidence', () => {
    const json = toJson([{ split: 'test', method: 'MAP', metrics: { nll: 0.4, accuracy: 0.9 }, bins }], {
      title: 'T',
    });
    expect(json).toBe(
      [
        '{',
        '  "title": "T",',
        '  "results": [',
        '    {',
        '      "method": "MAP",',
        '      "split": "test",',
        '      "metrics": {',
        '        "accuracy": 0.9,',
        '        "nll": 0.4',
        '      },',
        '      "bins": [',
        '        {',
        '          "lo": 0.5,',
        '          "hi": 1,',
        '          "count": 2,',
        '          "accuracy": 0.5,',
        '          "confidence": 0.7',
        '        }',
        '      ]',
        '    }',
        '  ]',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('does not depend on the insertion order of metric keys, and writes non-finite values as null', () => {
    const a = toJson([{ method: 'm', split: 's', metrics: { b: 1, a: NaN, c: Infinity } }]);
    const b = toJson([{ method: 'm', split: 's', metrics: { c: Infinity, a: NaN, b: 1 } }]);
    expect(a).toBe(b);
    expect(JSON.parse(a).results[0].metrics).toEqual({ a: null, b: 1, c: null });
  });

  it('round-trips the numbers of every result', () => {
    const back = JSON.parse(toJson(results, { notes: ['n'] }));
    expect(back.notes).toEqual(['n']);
    expect(back.results.map((r: MethodResult) => [r.method, r.split, r.metrics])).toEqual(
      results.map((r) => [r.method, r.split, r.metrics]),
    );
  });
});
