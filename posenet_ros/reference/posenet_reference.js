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
 * Protocol (stdin binary requests, stdout one JSON line per message; logs go to stderr):
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

const fs = require('fs');
const os = require('os');
const path = require('path');
const { createRequire } = require('module');
const { performance } = require('perf_hooks');

// stdout carries the protocol only: route library chatter (console.log/info) to stderr.
console.log = console.error;
console.info = console.error;

function parseArgs(argv) {
  const home = process.env.POSENET_ROS_HOME || path.join(os.homedir(), '.cache', 'posenet_ros');
  const args = { backend: 'wasm', home, modules: null, weights: null };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in args) || i + 1 >= argv.length) {
      throw new Error(`unknown or incomplete argument ${argv[i]}`);
    }
    args[key] = argv[i + 1];
  }
  args.modules = args.modules || path.join(args.home, 'reference', 'node_modules');
  args.weights = args.weights || path.join(args.home, 'weights');
  if (!['wasm', 'cpu'].includes(args.backend)) {
    throw new Error(`backend ${args.backend} is not supported: use wasm or cpu`);
  }
  return args;
}

function reply(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

/** Graph artifacts with a dynamic H/W input and outputs in the order MobileNet reads them. */
function readArtifacts(weightsDir) {
  const topologyFile = path.join(weightsDir, 'posenet.json');
  const model = JSON.parse(fs.readFileSync(topologyFile, 'utf8'));
  const manifest = model.weightsManifest;
  const bin = fs.readFileSync(path.join(weightsDir, manifest[0].paths[0]));
  const placeholder = model.modelTopology.node.find((n) => n.op === 'Placeholder');
  placeholder.attr.shape.shape.dim = [-1, -1, -1, 3].map((size) => ({ size: String(size) }));
  const order = ['offset', 'heatmap', 'displacement_fwd', 'displacement_bwd'];
  const outputs = {};
  for (const head of order) {
    const name = Object.keys(model.signature.outputs).find((k) => k.includes(`/${head}_`));
    if (!name) throw new Error(`${topologyFile} has no ${head} output`);
    outputs[name] = model.signature.outputs[name];
  }
  return {
    modelTopology: model.modelTopology,
    weightSpecs: manifest.flatMap((group) => group.weights),
    weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
    signature: { inputs: model.signature.inputs, outputs },
    format: model.format,
  };
}

/** Byte reader over stdin: `await read(n)` gives exactly n bytes, or null at a clean EOF. */
function stdinReader() {
  const chunks = [];
  let buffered = 0;
  let ended = false;
  let wake = null;
  process.stdin.on('data', (c) => { chunks.push(c); buffered += c.length; if (wake) wake(); });
  process.stdin.on('end', () => { ended = true; if (wake) wake(); });
  return async function read(n) {
    while (buffered < n) {
      if (ended) {
        if (buffered === 0) return null;
        throw new Error(`stdin ended inside a frame (${buffered} of ${n} bytes)`);
      }
      await new Promise((resolve) => { wake = resolve; });
      wake = null;
    }
    const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    chunks.length = 0;
    const out = all.subarray(0, n);
    if (all.length > n) chunks.push(all.subarray(n));
    buffered -= n;
    return out;
  };
}

function toTensor(tf, header, pixels) {
  const { height, width, dtype } = header;
  const shape = [height, width, 3];
  if (dtype === 'uint8') return tf.tensor3d(Int32Array.from(pixels), shape, 'int32');
  const copy = pixels.buffer.slice(pixels.byteOffset, pixels.byteOffset + pixels.byteLength);
  return tf.tensor3d(new Float32Array(copy), shape, 'float32');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const requireFrom = createRequire(path.join(path.dirname(args.modules), 'noop.js'));
  let tf;
  let posenet;
  try {
    tf = requireFrom('@tensorflow/tfjs');
    posenet = requireFrom('@tensorflow-models/posenet');
    if (args.backend === 'wasm') {
      const wasm = requireFrom('@tensorflow/tfjs-backend-wasm');
      const dist = path.dirname(requireFrom.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
      wasm.setWasmPaths(dist + path.sep);
    }
  } catch (err) {
    throw new Error(`TF.js modules not found under ${args.modules} (run npm ci there): ${err.message}`);
  }
  if (!(await tf.setBackend(args.backend)) || tf.getBackend() !== args.backend) {
    throw new Error(`the ${args.backend} backend failed to initialise`);
  }
  const artifacts = readArtifacts(args.weights);
  const versions = {
    posenet: requireFrom('@tensorflow-models/posenet/package.json').version,
    tfjs: tf.version.tfjs,
    node: process.versions.node,
  };
  reply({ ready: true, backend: tf.getBackend(), versions });

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

  const read = stdinReader();
  for (;;) {
    const size = await read(4);
    if (size === null) return 0;
    let header;
    try {
      header = JSON.parse((await read(size.readUInt32LE(0))).toString('utf8'));
      const { height, width, dtype } = header;
      if (!(Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0)
          || !['uint8', 'float32'].includes(dtype)) {
        throw new Error(`bad frame header ${JSON.stringify(header)}`);
      }
    } catch (err) {
      reply({ error: `malformed request: ${err.message}` });
      return 2;
    }
    const pixels = await read(header.height * header.width * 3 * (header.dtype === 'uint8' ? 1 : 4));
    if (pixels === null) throw new Error('stdin ended inside a frame');
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
      reply({ poses, ms: { total: performance.now() - start } });
    } catch (err) {
      reply({ error: err.message });
    } finally {
      tensor.dispose();
    }
  }
}

main().then((code) => process.exit(code), (err) => {
  reply({ error: err.message });
  process.exit(1);
});
