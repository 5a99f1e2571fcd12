#!/usr/bin/env node
/*
 * TensorFlow.js PoseNet 2.2.2 (MobileNetV1 0.75, output stride 16) as a long-lived Node process:
 * the original implementation posenet_ros is tested and benchmarked against. Nothing is downloaded:
 * modules come from an `npm ci` of package.json/package-lock.json (next to this file), the wasm
 * binary from that install, the graph from $POSENET_ROS_HOME/weights/posenet.{json,bin}.
 *
 * Usage: node posenet_reference.js [--backend wasm|cpu] [--home DIR] [--modules DIR] [--weights DIR]
 *   --home     default $POSENET_ROS_HOME, else ~/.cache/posenet_ros
 *   --modules  node_modules folder, default HOME/reference/node_modules
 *   --weights  folder with posenet.json + posenet.bin, default HOME/weights
 *
 * Protocol (stdin binary requests, stdout one JSON line per message; logs go to stderr; the
 * framing, arguments and graph loading live in common.js):
 *   On start, one line: {"ready": true, "backend": "wasm", "versions": {...}}
 *     or {"error": "..."} and exit status 1 (modules, wasm binary or weights missing).
 *   Request: uint32 little-endian N, then N bytes of UTF-8 JSON header, then the pixels:
 *     height*width*3 values, row-major HxWx3 RGB, as uint8 or little-endian float32 (0..255).
 *     Header: {"height": H, "width": W, "dtype": "uint8"|"float32",
 *              "mode": "single"|"multi",                  (default "multi")
 *              "inputResolution": R | {"width": W, "height": H},   (default 257)
 *              "flipHorizontal": bool, "maxDetections": n, "scoreThreshold": s, "nmsRadius": r}
 *     (the last four as in tfjs' estimate*Pose config; omitted ones take tfjs' defaults).
 *   Reply: {"poses": [tfjs pose objects], "ms": {"total": t}} where single mode gives one pose and
 *     t is the wall time of estimateSinglePose/estimateMultiplePoses alone (tensor creation from the
 *     request's pixels excluded). Models are cached per inputResolution; the first request at a new
 *     resolution loads the model and runs both estimators once on the frame (warm-up) before timing.
 *     A request tfjs rejects gets {"error": "..."} and the process goes on; a malformed frame
 *     (bad header) gets {"error": ...} and exit status 2, since the stream cannot be re-synchronised.
 *   EOF on stdin: the process exits with status 0.
 *
 * A float32 RxR input at inputResolution R makes tfjs' padAndResizeTo an identity (no padding, a
 * bilinear resize to the same size), so both sides of a parity test can be fed identical network input.
 */
'use strict';

const { performance } = require('perf_hooks');
const common = require('./common');

/** Graph artifacts with a dynamic H/W input and outputs in the order MobileNet reads them. */
function readArtifacts(weightsDir) {
  const { file, model, artifacts } = common.readGraph(weightsDir, 'posenet');
  const placeholder = model.modelTopology.node.find((n) => n.op === 'Placeholder');
  placeholder.attr.shape.shape.dim = [-1, -1, -1, 3].map((size) => ({ size: String(size) }));
  const order = ['offset', 'heatmap', 'displacement_fwd', 'displacement_bwd'];
  const outputs = {};
  for (const head of order) {
    const name = Object.keys(model.signature.outputs).find((k) => k.includes(`/${head}_`));
    if (!name) throw new Error(`${file} has no ${head} output`);
    outputs[name] = model.signature.outputs[name];
  }
  return { ...artifacts, signature: { inputs: model.signature.inputs, outputs } };
}

function toTensor(tf, header, pixels) {
  const { height, width, dtype } = header;
  const shape = [height, width, 3];
  if (dtype === 'uint8') return tf.tensor3d(Int32Array.from(pixels), shape, 'int32');
  const copy = pixels.buffer.slice(pixels.byteOffset, pixels.byteOffset + pixels.byteLength);
  return tf.tensor3d(new Float32Array(copy), shape, 'float32');
}

async function main() {
  const args = common.parseArgs(process.argv.slice(2));
  const requireFrom = common.moduleRequire(args.modules);
  let tf;
  let posenet;
  try {
    tf = requireFrom('@tensorflow/tfjs');
    posenet = requireFrom('@tensorflow-models/posenet');
    if (args.backend === 'wasm') common.useLocalWasm(requireFrom);
  } catch (err) {
    throw new Error(`TF.js modules not found under ${args.modules} (run npm ci there): ${err.message}`);
  }
  await common.setBackend(tf, args.backend);
  const artifacts = readArtifacts(args.weights);
  const versions = {
    posenet: requireFrom('@tensorflow-models/posenet/package.json').version,
    tfjs: tf.version.tfjs,
    node: process.versions.node,
  };
  common.reply({ ready: true, backend: tf.getBackend(), versions });

  const models = new Map();
  async function modelFor(resolution, tensor) {
    const key = JSON.stringify(resolution);
    if (models.has(key)) return models.get(key);
    const net = await posenet.load({
      architecture: 'MobileNetV1', outputStride: 16, multiplier: 0.75, inputResolution: resolution,
      modelUrl: { load: async () => artifacts },
    });
    await net.estimateSinglePose(tensor);   // warm-up: first-run compilation and allocation
    await net.estimateMultiplePoses(tensor);
    models.set(key, net);
    return net;
  }

  return common.serve({ uint8: 1, float32: 4 }, () => true, async (header, pixels) => {
    const tensor = toTensor(tf, header, pixels);
    try {
      const net = await modelFor(header.inputResolution ?? 257, tensor);
      const config = {};
      for (const key of ['flipHorizontal', 'maxDetections', 'scoreThreshold', 'nmsRadius']) {
        if (header[key] !== undefined && header[key] !== null) config[key] = header[key];
      }
      const mode = header.mode ?? 'multi';
      if (!['single', 'multi'].includes(mode)) throw new Error(`mode ${mode} is not single or multi`);
      const start = performance.now();
      const poses = mode === 'single'
        ? [await net.estimateSinglePose(tensor, config)]
        : await net.estimateMultiplePoses(tensor, config);
      common.reply({ poses, ms: { total: performance.now() - start } });
    } finally {
      tensor.dispose();
    }
  });
}

common.run(main);
