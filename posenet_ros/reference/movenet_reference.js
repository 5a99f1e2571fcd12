#!/usr/bin/env node
/*
 * pose-detection 2.1.3's MoveNet (SinglePose Lightning/Thunder, MultiPose Lightning) as a
 * long-lived Node process: the original implementation posenet_ros' MoveNet is tested and
 * benchmarked against. Nothing is downloaded: modules come from an `npm ci` of
 * package.json/package-lock.json (next to this file), the wasm binary from that install, the
 * graphs from $POSENET_ROS_HOME/weights/movenet-{lightning,thunder,multipose}.{json,bin},
 * handed to tfjs through an IOHandler.
 *
 * Usage: node movenet_reference.js [--backend wasm|cpu] [--home DIR] [--modules DIR] [--weights DIR]
 *
 * Protocol (stdin binary requests, stdout one JSON line per message; logs go to stderr; the
 * framing, arguments and graph loading live in common.js), as posenet_reference.js: on start
 * one line {"ready": true, "backend": ..., "versions": {...}} or {"error": ...} and exit 1.
 * Request: uint32 little-endian N, N bytes of UTF-8 JSON header, then height*width*3 pixels
 * (row-major HxWx3 RGB) as uint8, or int32 little-endian for "execute".
 *   Header: {"op": "estimate" | "execute", "model": "movenet-lightning" | "movenet-thunder" |
 *            "movenet-multipose", "height": H, "width": W, "dtype": "uint8" | "int32",
 *            "stream": "name",      (estimate: one detector per (model, smoothing, stream))
 *            "smoothing": bool,     (enableSmoothing, default true)
 *            "timestamp": ms,       (estimatePoses' timestamp; smoothing needs one)
 *            "reset": bool}         (estimate: detector.reset() before this frame)
 *   "estimate" replies {"poses": [pose-detection poses], "ms": {"total": t}} with t the wall time
 *     of estimatePoses alone. MultiPose runs with enableTracking false (tracking is not compared).
 *   "preprocess" replies {"input": [...], "shape": [...]}: the int32 network input pose-detection
 *     makes from the frame (single pose: cropAndResize of "box" [yMin, xMin, yMax, xMax] + cast;
 *     MultiPose: its resize to 256 and padding + cast), with the same tf ops, for input parity.
 *   "execute" runs the graph alone on an int32 [1, H, W, 3] input and replies
 *     {"output": [flat float values], "shape": [...]}: the model's own output, for converter parity.
 *   A request tfjs rejects gets {"error": ...} and the process goes on; a malformed header exits 2.
 *   EOF on stdin: exit 0.
 */
'use strict';

const { performance } = require('perf_hooks');
const common = require('./common');

const MODELS = {
  'movenet-lightning': 'SinglePose.Lightning',
  'movenet-thunder': 'SinglePose.Thunder',
  'movenet-multipose': 'MultiPose.Lightning',
};

function int32Pixels(header, pixels) {
  if (header.dtype === 'uint8') return Int32Array.from(pixels);
  const copy = pixels.buffer.slice(pixels.byteOffset, pixels.byteOffset + pixels.byteLength);
  return new Int32Array(copy);
}

/** pose-detection 2.1.3's preprocessing (movenet/detector.js), op for op. */
function networkInput(tf, header, image) {
  const [, height, width] = image.shape;
  if (header.model !== 'movenet-multipose') {
    const size = header.model === 'movenet-thunder' ? 256 : 192;
    return tf.cast(tf.image.cropAndResize(image, tf.tensor2d([header.box]), tf.zeros([1], 'int32'),
      [size, size], 'bilinear', 0), 'int32');
  }
  const max = 256;
  let resized;
  let padded;
  if (width > height) {
    const h = Math.round(max * height / width);
    resized = tf.image.resizeBilinear(image, [h, max]);
    padded = tf.pad(resized, [[0, 0], [0, Math.ceil(h / 32) * 32 - h], [0, 0], [0, 0]]);
  } else {
    const w = Math.round(max * width / height);
    resized = tf.image.resizeBilinear(image, [max, w]);
    padded = tf.pad(resized, [[0, 0], [0, 0], [0, Math.ceil(w / 32) * 32 - w], [0, 0]]);
  }
  return tf.cast(padded, 'int32');
}

async function main() {
  const args = common.parseArgs(process.argv.slice(2));
  const requireFrom = common.moduleRequire(args.modules);
  let tf;
  let tfconv;
  let poseDetection;
  try {
    tf = requireFrom('@tensorflow/tfjs-core');
    tfconv = requireFrom('@tensorflow/tfjs-converter');
    if (args.backend === 'wasm') {
      common.useLocalWasm(requireFrom);
    } else {
      requireFrom('@tensorflow/tfjs-backend-cpu');
    }
    poseDetection = requireFrom('@tensorflow-models/pose-detection');
  } catch (err) {
    throw new Error(`pose-detection modules not found under ${args.modules} (run npm ci there): ${err.message}`);
  }
  await common.setBackend(tf, args.backend);
  const artifacts = {};   // the graphs as tfjs' IOHandler artifacts, unchanged
  for (const name of Object.keys(MODELS)) {
    artifacts[name] = common.readGraph(args.weights, name).artifacts;
  }
  const versions = {
    'pose-detection': requireFrom('@tensorflow-models/pose-detection/package.json').version,
    tfjs: tf.version_core,
    node: process.versions.node,
  };
  common.reply({ ready: true, backend: tf.getBackend(), versions });

  const graphs = new Map();
  async function graphFor(name) {
    if (!graphs.has(name)) {
      graphs.set(name, await tfconv.loadGraphModel({ load: async () => artifacts[name] }));
    }
    return graphs.get(name);
  }
  const detectors = new Map();
  async function detectorFor(header, tensor) {
    const smoothing = header.smoothing ?? true;
    const key = JSON.stringify([header.model, smoothing, header.stream ?? '']);
    if (!detectors.has(key)) {
      const detector = await poseDetection.createDetector(poseDetection.SupportedModels.MoveNet, {
        modelType: MODELS[header.model], enableSmoothing: smoothing, enableTracking: false,
        modelUrl: { load: async () => artifacts[header.model] },
      });
      await detector.estimatePoses(tensor);   // warm-up: first-run compilation and allocation
      if (header.model !== 'movenet-multipose') detector.reset();   // MultiPose keeps no state
      detectors.set(key, detector);
    }
    return detectors.get(key);
  }

  const valid = ({ model, op }) => model in MODELS
    && ['estimate', 'execute', 'preprocess'].includes(op);
  return common.serve({ uint8: 1, int32: 4 }, valid, async (header, pixels) => {
    const data = int32Pixels(header, pixels);
    if (header.op === 'preprocess') {
      const image = tf.tensor4d(data, [1, header.height, header.width, 3], 'int32');
      const input = tf.tidy(() => networkInput(tf, header, image));
      common.reply({ input: Array.from(input.dataSync()), shape: input.shape });
      image.dispose();
      input.dispose();
    } else if (header.op === 'execute') {
      const graph = await graphFor(header.model);
      const input = tf.tensor4d(data, [1, header.height, header.width, 3], 'int32');
      const output = graph.execute(input);
      common.reply({ output: Array.from(output.dataSync()), shape: output.shape });
      input.dispose();
      output.dispose();
    } else {
      const tensor = tf.tensor3d(data, [header.height, header.width, 3], 'int32');
      try {
        const detector = await detectorFor(header, tensor);
        if (header.reset && header.model !== 'movenet-multipose') detector.reset();
        const timestamp = header.timestamp ?? undefined;
        const start = performance.now();
        const poses = await detector.estimatePoses(tensor, {}, timestamp);
        common.reply({ poses, ms: { total: performance.now() - start } });
      } finally {
        tensor.dispose();
      }
    }
  });
}

common.run(main);
