/**
 * Runs the original USE-Lite graph (model.json as shipped) with TensorFlow.js on its CPU backend
 * (plain JS): the independent reference the swaglet encoder is checked against. Not the wasm
 * backend: tfjs-backend-wasm 3.21 has no SparseToDense kernel, which the graph's input needs.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import '@tensorflow/tfjs-backend-cpu';

let ready: Promise<string> | undefined;

function useCpu(): Promise<string> {
  tf.env().set('PROD', true); // no "install tfjs-node" banner
  ready ??= tf.setBackend('cpu').then(() => tf.getBackend());
  return ready;
}

/** The graph model, read from the local files through a memory IOHandler (no fetch). */
async function loadModel(modelJsonPath: string) {
  const json = JSON.parse(readFileSync(modelJsonPath, 'utf8'));
  const specs = [];
  const chunks: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) chunks.push(readFileSync(join(dirname(modelJsonPath), p)));
  }
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return loadGraphModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData: bytes.buffer }));
}

/**
 * Embeds tokenized sentences the way @tensorflow-models/universal-sentence-encoder does: a sparse
 * batch of (row, position) indices and token-id values. Returns [n, 512] row-major and the backend.
 */
export async function tfjsEmbed(modelJsonPath: string, sentences: number[][]): Promise<{ embeddings: Float32Array; backend: string }> {
  const backend = await useCpu();
  const model = await loadModel(modelJsonPath);
  const indices = sentences.flatMap((ids, row) => ids.map((_, col) => [row, col]));
  const values = sentences.flat();
  const feeds = { indices: tf.tensor2d(indices, [indices.length, 2], 'int32'), values: tf.tensor1d(values, 'int32') };
  const out = (await model.executeAsync(feeds)) as tf.Tensor;
  const embeddings = (await out.data()) as Float32Array;
  tf.dispose([out, feeds.indices, feeds.values]);
  model.dispose();
  return { embeddings, backend };
}
