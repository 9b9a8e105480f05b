// The browser's fill (src/context_encoder/server/static/inpaint.js) run by Node with ONNX
// Runtime Web's WebAssembly, for tests that compare it with the Python pipeline without a
// browser:
//   node web/fill.cjs MODELS_JSON ONNX DIR
// DIR holds job.json ({ "w": W, "h": H, "sketch": bool }), rgba.bin (W*H*4 bytes),
// hole.bin (W*H bytes, non-zero = hole) and sketch.bin when job.json says so; the filled
// RGBA is written to DIR/out.bin.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-web');
const { fill } = require('../src/context_encoder/server/static/inpaint.js');

async function main() {
  const [modelsJson, onnxPath, dir] = process.argv.slice(2);
  const model = JSON.parse(fs.readFileSync(modelsJson, 'utf8')).models[0];
  const job = JSON.parse(fs.readFileSync(path.join(dir, 'job.json'), 'utf8'));
  const read = (f) => new Uint8Array(fs.readFileSync(path.join(dir, f)));
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(fs.readFileSync(onnxPath), { executionProviders: ['wasm'] });
  const run = async (feeds) => {
    const t = {};
    for (const [k, v] of Object.entries(feeds)) t[k] = new ort.Tensor('float32', v.data, v.dims);
    return (await session.run(t)).output.data;
  };
  const out = await fill(model, read('rgba.bin'), job.w, job.h, read('hole.bin'),
    job.sketch ? read('sketch.bin') : null, run);
  fs.writeFileSync(path.join(dir, 'out.bin'), Buffer.from(out.buffer));
}

main().catch((e) => { console.error(e && e.stack ? e.stack : String(e)); process.exit(1); });
