// Writes the safety checker's test classifier, test/fixtures/safety-classifier/, in the transformers.js
// layout: config.json (a ViT image classifier, labels normal / nsfw), preprocessor_config.json
// (ViTImageProcessor: resize to 32×32, rescale 1/255, normalize mean 0.5 std 0.5 → [-1, 1]) and
// onnx/model.onnx, a three-node graph whose decision we control:
//
//   pixel_values [1,3,H,W] → ReduceMean over H,W → means [1,3] → Gemm with W [3,2], b [2] → logits [1,2]
//   logits = [-K·(r − T), K·(r − T)], r = the mean red value after normalisation (in [-1, 1])
//
// so an image whose red channel averages above T (191.25 of 255) is flagged "nsfw": pure red (r = 1)
// scores softmax(K) = 0.9997 nsfw, mid grey (r ≈ 0) 0.0003, blue (r = −1) 0.0000002.
// The ONNX protobuf is written with protobufjs from the message definitions of onnx/onnx.proto (the
// subset used, same field numbers); the output is byte-for-byte deterministic, and a test regenerates
// it and compares. Usage: node scripts/make-safety-fixture.mjs [outDir]   (default: the fixture folder)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onnxModelType } from './onnxProto.mjs';

/** Input side after resizing (px): small, so a check costs ~nothing. */
export const SIDE = 32;
/** Logit slope: ±K·(r − T). */
export const K = 8;
/** Decision point on the normalised mean red value r ∈ [-1, 1]: 0.5 ↔ a raw mean of 191.25/255. */
export const T = 0.5;
export const LABELS = ['normal', 'nsfw'];


const FLOAT = 1; // TensorProto.DataType.FLOAT
const INTS = 7; // AttributeProto.AttributeType.INTS
const INT = 2;

/** Little-endian float32 bytes. */
const f32 = (values) => new Uint8Array(new Float32Array(values).buffer);

const tensorValue = (name, dims) => ({
  name,
  type: { tensor_type: { elem_type: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d })) } } },
});

/** The ONNX model's bytes (opset 13: ReduceMean takes `axes` as an attribute). */
export function modelBytes() {
  const Model = onnxModelType();
  const model = {
    ir_version: 8,
    producer_name: 'kleinbild scripts/make-safety-fixture.mjs',
    producer_version: '1',
    doc_string: `test classifier: logits = [-${K}(r - ${T}), ${K}(r - ${T})], r = mean red of pixel_values`,
    opset_import: [{ domain: '', version: 13 }],
    graph: {
      name: 'mean_red_classifier',
      node: [
        { input: ['pixel_values'], output: ['channel_means'], name: 'mean_hw', op_type: 'ReduceMean', attribute: [{ name: 'axes', type: INTS, ints: [2, 3] }, { name: 'keepdims', type: INT, i: 0 }] },
        { input: ['channel_means', 'weight', 'bias'], output: ['logits'], name: 'head', op_type: 'Gemm' },
      ],
      initializer: [
        // rows: r, g, b; columns: normal, nsfw
        { name: 'weight', dims: [3, 2], data_type: FLOAT, raw_data: f32([-K, K, 0, 0, 0, 0]) },
        { name: 'bias', dims: [2], data_type: FLOAT, raw_data: f32([K * T, -K * T]) },
      ],
      input: [tensorValue('pixel_values', ['batch_size', 3, 'height', 'width'])],
      output: [tensorValue('logits', ['batch_size', 2])],
    },
  };
  const err = Model.verify(model);
  if (err) throw new Error(`ModelProto: ${err}`);
  return Model.encode(Model.fromObject(model)).finish();
}

const json = (o) => `${JSON.stringify(o, null, 2)}\n`;

/** Every file of the fixture: path relative to its folder → bytes. */
export function fixtureFiles() {
  const id2label = Object.fromEntries(LABELS.map((l, i) => [String(i), l]));
  const label2id = Object.fromEntries(LABELS.map((l, i) => [l, i]));
  return {
    'config.json': new TextEncoder().encode(json({
      architectures: ['ViTForImageClassification'],
      model_type: 'vit',
      id2label,
      label2id,
      image_size: SIDE,
      num_channels: 3,
      'transformers.js_config': { dtype: 'fp32' },
    })),
    'preprocessor_config.json': new TextEncoder().encode(json({
      image_processor_type: 'ViTImageProcessor',
      do_resize: true,
      size: { height: SIDE, width: SIDE },
      resample: 2,
      do_rescale: true,
      rescale_factor: 1 / 255,
      do_normalize: true,
      image_mean: [0.5, 0.5, 0.5],
      image_std: [0.5, 0.5, 0.5],
    })),
    'onnx/model.onnx': modelBytes(),
  };
}

const here = dirname(fileURLToPath(import.meta.url));
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2] ?? join(here, '..', 'test', 'fixtures', 'safety-classifier');
  for (const [path, bytes] of Object.entries(fixtureFiles())) {
    mkdirSync(dirname(join(out, path)), { recursive: true });
    writeFileSync(join(out, path), bytes);
  }
  console.log(`wrote ${Object.keys(fixtureFiles()).join(', ')} to ${out}`);
}
