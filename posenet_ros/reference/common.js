/*
 * What posenet_reference.js and movenet_reference.js share: arguments, the stdin/stdout
 * protocol (framing, header checks, replies, exit statuses), graph loading from
 * $POSENET_ROS_HOME/weights as IOHandler artifacts and the tfjs backend set-up. Each runner
 * documents its own requests and keeps its own model logic. Node built-ins only: the runners
 * load tfjs from --modules, this file from beside them.
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { createRequire } = require('module');

// stdout carries the protocol only: route library chatter (console.log/info/warn) to stderr.
console.log = console.error;
console.info = console.error;
console.warn = console.error;

/** --backend wasm|cpu, --home (default $POSENET_ROS_HOME, else ~/.cache/posenet_ros),
 *  --modules (default HOME/reference/node_modules), --weights (default HOME/weights). */
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

/** `require` resolving from the node_modules folder `modules` (not from this file). */
function moduleRequire(modules) {
  return createRequire(path.join(path.dirname(modules), 'noop.js'));
}

/** Point tfjs-backend-wasm at the wasm binary of its own install: nothing is fetched. */
function useLocalWasm(requireFrom) {
  const wasm = requireFrom('@tensorflow/tfjs-backend-wasm');
  const binary = '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm';
  wasm.setWasmPaths(path.dirname(requireFrom.resolve(binary)) + path.sep);
}

async function setBackend(tf, backend) {
  if (!(await tf.setBackend(backend)) || tf.getBackend() !== backend) {
    throw new Error(`the ${backend} backend failed to initialise`);
  }
}

/** weightsDir/name.json and its weight files: the parsed JSON and IOHandler artifacts. */
function readGraph(weightsDir, name) {
  const file = path.join(weightsDir, `${name}.json`);
  const model = JSON.parse(fs.readFileSync(file, 'utf8'));
  const bins = model.weightsManifest.flatMap((g) => g.paths)
    .map((p) => fs.readFileSync(path.join(weightsDir, p)));
  const bin = Buffer.concat(bins);
  const artifacts = {
    modelTopology: model.modelTopology,
    weightSpecs: model.weightsManifest.flatMap((group) => group.weights),
    weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
    signature: model.signature,
    format: model.format,
  };
  return { file, model, artifacts };
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

/**
 * Answer requests until EOF (resolves 0) or a malformed header (replies, resolves 2).
 * A request is uint32 LE N, N bytes of JSON header, then height*width*3 pixels of
 * `dtypes[header.dtype]` bytes each; `valid(header)` checks the runner's own fields.
 * `handle(header, pixels)` replies itself; what it throws is replied as {"error": ...}.
 */
async function serve(dtypes, valid, handle) {
  const read = stdinReader();
  for (;;) {
    const size = await read(4);
    if (size === null) return 0;
    let header;
    try {
      header = JSON.parse((await read(size.readUInt32LE(0))).toString('utf8'));
      const { height, width, dtype } = header;
      if (!(Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0)
          || !Object.hasOwn(dtypes, dtype) || !valid(header)) {
        throw new Error(`bad request header ${JSON.stringify(header)}`);
      }
    } catch (err) {
      reply({ error: `malformed request: ${err.message}` });
      return 2;
    }
    const pixels = await read(header.height * header.width * 3 * dtypes[header.dtype]);
    if (pixels === null) throw new Error('stdin ended inside a frame');
    try {
      await handle(header, pixels);
    } catch (err) {
      reply({ error: err.message });
    }
  }
}

/** Run `main` and exit with its status; an error is replied as {"error": ...}, status 1. */
function run(main) {
  main().then((code) => process.exit(code), (err) => {
    reply({ error: err.message });
    process.exit(1);
  });
}

module.exports = {
  moduleRequire, parseArgs, readGraph, reply, run, serve, setBackend, useLocalWasm,
};
