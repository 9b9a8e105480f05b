/* Context Encoder editor page.
 *
 * Open or drop an image, paint the hole (brush or rectangle), press Inpaint: the image and
 * a black/white mask PNG at the image's full resolution (white = hole) are POSTed to
 * api/v1/inpaint and the answer becomes the new working image. For a model that takes a
 * sketch (api/v1/models says `sketch: true`), the Sketch tool draws thin lines on a layer
 * of their own, sent beside the mask as a black/white `sketch` PNG (white = a stroke).
 * Everything is one history of operations (hole strokes, rectangles, sketch lines, clears,
 * inpaint results), so undo / redo also step back over an inpaint. No external assets.
 *
 * In the browser (`<html data-inference="browser">`, the static site that `context-encoder
 * export MODEL --format web` writes): the models come from models.json and the page fills
 * the hole itself, with inpaint.js (the Python pipeline's pixel work) around the model run
 * by ONNX Runtime Web (static/ort/: WebGPU where the browser has it, else WebAssembly;
 * `?ep=wasm` asks for WebAssembly). No request leaves the page's own host.
 */
(() => {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const el = {
    open: $('open'),
    fileInput: $('file-input'),
    brush: $('tool-brush'),
    rect: $('tool-rect'),
    sketch: $('tool-sketch'),
    sketchNote: $('sketch-note'),
    size: $('brush-size'),
    sizeValue: $('brush-size-value'),
    undo: $('undo'),
    redo: $('redo'),
    clear: $('clear'),
    model: $('model'),
    inpaint: $('inpaint'),
    compare: $('compare'),
    download: $('download'),
    status: $('status'),
    info: $('info'),
    stage: $('stage'),
    dropHint: $('drop-hint'),
    wrap: $('canvas-wrap'),
    imageCanvas: $('image-canvas'),
    canvas: $('canvas'),
    sketchCanvas: $('sketch-canvas'),
    rectPreview: $('rect-preview'),
    cursor: $('cursor'),
    badge: $('before-badge'),
    busy: $('busy'),
  };

  const MASK_COLOR = 'rgb(255, 40, 40)'; // drawn opaque; the canvas is shown at 50 % opacity
  const SKETCH_COLOR = 'rgb(0, 229, 255)'; // style.css --sketch: cyan, apart from the red hole
  const SKETCH_MIN_PX = 2; // sketch lines: at least this wide in image pixels,
  const SKETCH_SCREEN_PX = 2; // and about this wide on screen on an image shown scaled down
  const HOLD_MS = 350; // a longer press on Compare only shows "before" while held
  const MAX_UPSCALE = 4;
  const IN_BROWSER = document.documentElement.dataset.inference === 'browser';
  const BROWSER_MAX_MEGAPIXELS = 16; // in the browser: several float copies of the image

  const imageCtx = el.imageCanvas.getContext('2d');
  const maskCtx = el.canvas.getContext('2d', { willReadFrequently: true });
  const sketchCtx = el.sketchCanvas.getContext('2d', { willReadFrequently: true });

  const state = {
    name: 'image',
    original: null, // { blob, bitmap, w, h, filename }
    ops: [], // { kind: 'stroke' | 'sketch', size, points } | { kind: 'rect', x, y, w, h } | { kind: 'clear' } | { kind: 'result', image }
    pos: 0, // number of ops applied
    tool: 'brush',
    busy: false,
    comparing: false,
    drawing: null,
    sizeTouched: false,
    models: null, // name -> entry of api/v1/models, once listed
    listed: false, // the listing answered (or failed): the Sketch tool's note may show
    sessions: new Map(), // in the browser: model name -> Promise of { session, provider }
    wasmOnly: false, // in the browser: WebGPU failed once, WebAssembly from then on
  };

  // -- status ---------------------------------------------------------------------------
  function setStatus(text, kind = 'idle') {
    el.status.textContent = text;
    el.status.dataset.state = kind;
  }

  // -- history --------------------------------------------------------------------------
  function lastResultIndex(upto = state.pos) {
    for (let i = upto - 1; i >= 0; i--) {
      if (state.ops[i].kind === 'result') return i;
    }
    return -1;
  }

  function imageAt(index) {
    return index < 0 ? state.original : state.ops[index].image;
  }

  function currentImage() {
    return imageAt(lastResultIndex());
  }

  function beforeImage() {
    const i = lastResultIndex();
    return i < 0 ? null : imageAt(lastResultIndex(i));
  }

  function maskOps() {
    return state.ops.slice(lastResultIndex() + 1, state.pos);
  }

  /** Whether the ops since the last inpaint leave something of these kinds drawn (a clear
   * wipes both layers). */
  function drawn(kinds) {
    let dirty = false;
    for (const op of maskOps()) {
      if (op.kind === 'clear') dirty = false;
      else if (kinds.includes(op.kind)) dirty = true;
    }
    return dirty;
  }

  function hasMask() {
    return drawn(['stroke', 'rect']);
  }

  function hasSketch() {
    return drawn(['sketch']);
  }

  function push(op) {
    for (const dropped of state.ops.splice(state.pos)) {
      if (dropped.kind === 'result') dropped.image.bitmap.close();
    }
    state.ops.push(op);
    state.pos = state.ops.length;
  }

  function undo() {
    if (!canEdit() || state.pos === 0) return;
    state.pos -= 1;
    afterHistoryMove();
  }

  function redo() {
    if (!canEdit() || state.pos >= state.ops.length) return;
    state.pos += 1;
    afterHistoryMove();
  }

  function afterHistoryMove() {
    if (!beforeImage()) state.comparing = false;
    renderImage();
    renderMask();
    updateUI();
  }

  function canEdit() {
    return Boolean(state.original) && !state.busy && !state.drawing;
  }

  // -- drawing --------------------------------------------------------------------------
  /** Draws one op on its layer: sketch lines on the sketch canvas, the rest on the mask. */
  function drawOp(op) {
    const ctx = op.kind === 'sketch' ? sketchCtx : maskCtx;
    if (op.kind === 'clear') {
      for (const c of [maskCtx, sketchCtx]) c.clearRect(0, 0, c.canvas.width, c.canvas.height);
    } else if (op.kind === 'rect') {
      ctx.fillStyle = MASK_COLOR;
      ctx.fillRect(op.x, op.y, op.w, op.h);
    } else if (op.kind === 'stroke' || op.kind === 'sketch') {
      const p = op.points;
      const color = op.kind === 'sketch' ? SKETCH_COLOR : MASK_COLOR;
      ctx.fillStyle = color;
      ctx.strokeStyle = color;
      ctx.lineWidth = op.size;
      ctx.lineCap = 'round';
      ctx.lineJoin = 'round';
      if (p.length === 2) {
        ctx.beginPath();
        ctx.arc(p[0], p[1], op.size / 2, 0, Math.PI * 2);
        ctx.fill();
        return;
      }
      ctx.beginPath();
      ctx.moveTo(p[0], p[1]);
      for (let i = 2; i < p.length; i += 2) ctx.lineTo(p[i], p[i + 1]);
      ctx.stroke();
    }
  }

  function drawSegment(stroke, x0, y0, x1, y1) {
    drawOp({ kind: stroke.kind, size: stroke.size, points: [x0, y0, x1, y1] });
  }

  function renderImage() {
    const img = state.comparing ? beforeImage() : currentImage();
    if (!img) return;
    if (el.imageCanvas.width !== img.w || el.imageCanvas.height !== img.h) {
      setCanvasSize(img.w, img.h);
    }
    imageCtx.clearRect(0, 0, img.w, img.h);
    imageCtx.drawImage(img.bitmap, 0, 0);
    el.wrap.classList.toggle('comparing', state.comparing);
    el.badge.hidden = !state.comparing;
    el.compare.setAttribute('aria-pressed', String(state.comparing));
  }

  function renderMask() {
    drawOp({ kind: 'clear' });
    for (const op of maskOps()) drawOp(op);
  }

  function setCanvasSize(w, h) {
    el.imageCanvas.width = w;
    el.imageCanvas.height = h;
    el.canvas.width = w;
    el.canvas.height = h;
    el.sketchCanvas.width = w;
    el.sketchCanvas.height = h;
    layout();
  }

  function layout() {
    if (!state.original) return;
    const w = el.imageCanvas.width;
    const h = el.imageCanvas.height;
    const cs = getComputedStyle(el.stage);
    const availW = el.stage.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    const availH = el.stage.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
    const scale = Math.max(0.01, Math.min(availW / w, availH / h, MAX_UPSCALE));
    el.wrap.style.width = `${Math.max(1, Math.round(w * scale))}px`;
    el.wrap.style.height = `${Math.max(1, Math.round(h * scale))}px`;
    el.wrap.classList.toggle('pixelated', scale >= 2);
    el.info.textContent = `${w} × ${h} px · ${Math.round(scale * 100)} %`;
  }

  /** Pointer position in image pixels (independent of the display scaling). */
  function toImage(e) {
    const r = el.canvas.getBoundingClientRect();
    return {
      x: ((e.clientX - r.left) * el.canvas.width) / r.width,
      y: ((e.clientY - r.top) * el.canvas.height) / r.height,
    };
  }

  function displayScale() {
    const r = el.canvas.getBoundingClientRect();
    return r.width / el.canvas.width;
  }

  function brushSize() {
    return Math.max(1, parseInt(el.size.value, 10) || 1);
  }

  /** A new sketch line's width in image pixels: thin, and still visible on screen when the
   * image is shown scaled down. */
  function sketchWidth() {
    return Math.max(SKETCH_MIN_PX, Math.ceil(SKETCH_SCREEN_PX / displayScale()));
  }

  function moveCursor(e) {
    if (state.tool !== 'brush' || !state.original || state.comparing) {
      el.cursor.hidden = true;
      return;
    }
    const r = el.canvas.getBoundingClientRect();
    const d = Math.max(4, brushSize() * displayScale());
    el.cursor.style.width = `${d}px`;
    el.cursor.style.height = `${d}px`;
    el.cursor.style.left = `${e.clientX - r.left}px`;
    el.cursor.style.top = `${e.clientY - r.top}px`;
    el.cursor.hidden = false;
  }

  function rectFromDrag(d) {
    const W = el.canvas.width;
    const H = el.canvas.height;
    const clamp = (v, hi) => Math.min(Math.max(v, 0), hi);
    const x0 = Math.floor(clamp(Math.min(d.x0, d.x1), W));
    const y0 = Math.floor(clamp(Math.min(d.y0, d.y1), H));
    const x1 = Math.ceil(clamp(Math.max(d.x0, d.x1), W));
    const y1 = Math.ceil(clamp(Math.max(d.y0, d.y1), H));
    return { kind: 'rect', x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
  }

  function showRectPreview(d) {
    const r = rectFromDrag(d);
    const s = displayScale();
    Object.assign(el.rectPreview.style, {
      left: `${r.x * s}px`,
      top: `${r.y * s}px`,
      width: `${r.w * s}px`,
      height: `${r.h * s}px`,
    });
    el.rectPreview.hidden = false;
  }

  function onPointerDown(e) {
    if (e.button !== 0 || !canEdit() || state.comparing) return;
    e.preventDefault();
    el.canvas.setPointerCapture(e.pointerId);
    const p = toImage(e);
    if (state.tool === 'brush' || state.tool === 'sketch') {
      const sketch = state.tool === 'sketch';
      const op = {
        kind: sketch ? 'sketch' : 'stroke',
        size: sketch ? sketchWidth() : brushSize(),
        points: [round1(p.x), round1(p.y)],
      };
      state.drawing = op;
      drawOp(op);
    } else {
      state.drawing = { kind: 'drag', x0: p.x, y0: p.y, x1: p.x, y1: p.y };
      showRectPreview(state.drawing);
    }
  }

  function onPointerMove(e) {
    moveCursor(e);
    const d = state.drawing;
    if (!d) return;
    const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
    for (const ev of events.length ? events : [e]) {
      const p = toImage(ev);
      if (d.kind !== 'drag') {
        const n = d.points.length;
        const x = round1(p.x);
        const y = round1(p.y);
        if (x === d.points[n - 2] && y === d.points[n - 1]) continue;
        drawSegment(d, d.points[n - 2], d.points[n - 1], x, y);
        d.points.push(x, y);
      } else {
        d.x1 = p.x;
        d.y1 = p.y;
      }
    }
    if (d.kind === 'drag') showRectPreview(d);
  }

  function onPointerUp(e) {
    const d = state.drawing;
    if (!d) return;
    state.drawing = null;
    el.rectPreview.hidden = true;
    if (e.type === 'pointercancel') {
      renderMask();
      return;
    }
    if (d.kind !== 'drag') {
      push(d);
    } else {
      const r = rectFromDrag(d);
      if (r.w > 0 && r.h > 0) {
        drawOp(r);
        push(r);
      }
    }
    updateUI();
  }

  function round1(v) {
    return Math.round(v * 10) / 10;
  }

  // -- tools ----------------------------------------------------------------------------
  function setTool(tool) {
    if (tool === 'sketch' && !takesSketch()) return;
    state.tool = tool;
    el.brush.setAttribute('aria-pressed', String(tool === 'brush'));
    el.rect.setAttribute('aria-pressed', String(tool === 'rect'));
    el.sketch.setAttribute('aria-pressed', String(tool === 'sketch'));
    el.canvas.classList.toggle('brush', tool === 'brush');
    if (tool !== 'brush') el.cursor.hidden = true;
  }

  function setBrushSize(v) {
    const max = parseInt(el.size.max, 10);
    el.size.value = String(Math.min(Math.max(1, Math.round(v)), max));
    el.sizeValue.textContent = el.size.value;
  }

  function clearMask() {
    if (!canEdit() || !(hasMask() || hasSketch())) return;
    const op = { kind: 'clear' };
    drawOp(op);
    push(op);
    updateUI();
  }

  // -- compare --------------------------------------------------------------------------
  function setComparing(on) {
    const want = Boolean(on) && Boolean(beforeImage());
    if (want === state.comparing) return;
    state.comparing = want;
    renderImage();
    el.cursor.hidden = true;
  }

  let holdStart = 0;
  let wasComparing = false;
  let holding = false;

  function compareDown(e) {
    if (el.compare.disabled || e.button !== 0) return;
    holding = true;
    holdStart = performance.now();
    wasComparing = state.comparing;
    setComparing(true);
  }

  function compareUp() {
    if (!holding) return;
    holding = false;
    if (performance.now() - holdStart > HOLD_MS) setComparing(false);
    else setComparing(!wasComparing);
  }

  // -- files ----------------------------------------------------------------------------
  function releaseImages() {
    if (state.original) state.original.bitmap.close();
    for (const op of state.ops) if (op.kind === 'result') op.image.bitmap.close();
  }

  async function openFile(file) {
    if (!file || state.busy) return;
    let bitmap;
    try {
      bitmap = await createImageBitmap(file);
    } catch (err) {
      setStatus(`Cannot open “${file.name}”: this browser cannot decode it as an image.`, 'error');
      return;
    }
    releaseImages();
    state.original = { blob: file, bitmap, w: bitmap.width, h: bitmap.height, filename: file.name || 'image.png' };
    state.name = (file.name || 'image').replace(/\.[^.]*$/, '') || 'image';
    state.ops = [];
    state.pos = 0;
    state.comparing = false;
    state.drawing = null;
    const side = Math.min(bitmap.width, bitmap.height);
    el.size.max = String(Math.max(200, Math.round(side / 4)));
    if (!state.sizeTouched) setBrushSize(Math.min(Math.max(Math.round(side / 20), 4), 64));
    el.dropHint.hidden = true;
    el.wrap.hidden = false;
    setCanvasSize(bitmap.width, bitmap.height);
    renderImage();
    renderMask();
    updateUI();
    const sketch = takesSketch() ? ', draw lines for it to follow with Sketch (S)' : '';
    setStatus(`Opened ${file.name || 'image'}: paint over the area to fill${sketch}, then press Inpaint.`);
  }

  function downloadResult() {
    const i = lastResultIndex();
    if (i < 0 || state.busy) return;
    const blob = state.ops[i].image.blob;
    const ext = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp' }[blob.type] || 'png';
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${state.name}-inpainted.${ext}`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 30000);
  }

  /** A layer (the mask or the sketch) as a black/white PNG at the image's resolution,
   * white where drawn, or null when empty. */
  function layerPNG(ctx, what) {
    const w = ctx.canvas.width;
    const h = ctx.canvas.height;
    const src = ctx.getImageData(0, 0, w, h).data;
    const out = new ImageData(w, h);
    const o32 = new Uint32Array(out.data.buffer);
    const WHITE = 0xffffffff;
    const BLACK = new Uint32Array(new Uint8ClampedArray([0, 0, 0, 255]).buffer)[0];
    let any = false;
    for (let i = 0, a = 3; i < o32.length; i++, a += 4) {
      if (src[a] !== 0) {
        o32[i] = WHITE;
        any = true;
      } else {
        o32[i] = BLACK;
      }
    }
    if (!any) return Promise.resolve(null);
    const c = document.createElement('canvas');
    c.width = w;
    c.height = h;
    c.getContext('2d').putImageData(out, 0, 0);
    return new Promise((resolve, reject) => {
      c.toBlob((b) => (b ? resolve(b) : reject(new Error(`could not encode the ${what}`))), 'image/png');
    });
  }

  // -- inpaint --------------------------------------------------------------------------
  function setBusy(on) {
    state.busy = on;
    el.busy.hidden = !on;
    updateUI();
  }

  async function inpaint() {
    if (!canEdit()) return;
    if (!hasMask()) {
      setStatus('Paint over the area to fill first.', 'error');
      return;
    }
    setComparing(false);
    setBusy(true);
    setStatus('Inpainting…', 'busy');
    const t0 = performance.now();
    try {
      const sketch = takesSketch() && hasSketch();
      const { blob, how } = await (IN_BROWSER ? fillInBrowser(sketch) : fillOnServer(sketch));
      const bitmap = await createImageBitmap(blob);
      push({ kind: 'result', image: { blob, bitmap, w: bitmap.width, h: bitmap.height } });
      renderImage();
      renderMask();
      const ms = Math.round(performance.now() - t0);
      const following = sketch ? ', following the sketch' : '';
      setStatus(`Done in ${ms} ms${how}${following}. Paint again to fix more, Compare to see the change, Ctrl+Z to undo.`, 'done');
    } catch (err) {
      setStatus(`Inpainting failed: ${err.message}`, 'error');
    } finally {
      setBusy(false);
    }
  }

  /** The server fills the hole: the image, the mask (and sketch) as PNGs to api/v1/inpaint. */
  async function fillOnServer(withSketch) {
    const mask = await layerPNG(maskCtx, 'mask');
    if (!mask) throw new Error('the mask is empty');
    const sketch = withSketch ? await layerPNG(sketchCtx, 'sketch') : null;
    const img = currentImage();
    const form = new FormData();
    const filename = img === state.original ? img.filename : `${state.name}-inpainted.png`;
    form.append('image', img.blob, filename);
    form.append('mask', mask, 'mask.png');
    if (sketch) form.append('sketch', sketch, 'sketch.png');
    if (el.model.value) form.append('model', el.model.value);
    let res;
    try {
      res = await fetch('api/v1/inpaint', { method: 'POST', body: form });
    } catch (err) {
      throw new Error('cannot reach the server');
    }
    if (!res.ok) {
      let msg = `HTTP ${res.status}`;
      try {
        const body = await res.json();
        if (body && body.error) msg = body.error;
      } catch (err) {
        /* not JSON: keep the status */
      }
      throw new Error(msg);
    }
    // arrayBuffer (not blob) keeps the answer readable in the browser's dev tools
    const type = res.headers.get('content-type') || 'image/png';
    const method = res.headers.get('x-inpaint-method');
    return { blob: new Blob([await res.arrayBuffer()], { type }), how: method ? ` with ${method}` : '' };
  }

  /** The model's ONNX Runtime session, made once: WebGPU where the browser offers an
   * adapter (and the page was not asked for ?ep=wasm), else WebAssembly. */
  function modelSession(m) {
    if (!state.sessions.has(m.name)) {
      state.sessions.set(m.name, (async () => {
        if (typeof ort === 'undefined') throw new Error('the page has no ONNX Runtime (static/ort/ort.min.js)');
        ort.env.wasm.wasmPaths = new URL('static/ort/', document.baseURI).href;
        const wanted = new URLSearchParams(location.search).get('ep');
        let provider = 'wasm';
        if (wanted !== 'wasm' && !state.wasmOnly && navigator.gpu) {
          try {
            if (await navigator.gpu.requestAdapter()) provider = 'webgpu';
          } catch (err) {
            /* no adapter: WebAssembly */
          }
        }
        let session;
        try {
          session = await ort.InferenceSession.create(m.file, { executionProviders: [provider] });
        } catch (err) {
          if (provider === 'wasm') throw err;
          provider = 'wasm';
          session = await ort.InferenceSession.create(m.file, { executionProviders: [provider] });
        }
        return { session, provider };
      })());
    }
    return state.sessions.get(m.name).catch((err) => {
      state.sessions.delete(m.name);
      throw new Error(`cannot load ${m.file}: ${err.message}`);
    });
  }

  /** A layer's pixels as one byte each: 1 where drawn (any alpha), else 0. */
  function layerBits(ctx) {
    const src = ctx.getImageData(0, 0, ctx.canvas.width, ctx.canvas.height).data;
    const out = new Uint8Array(src.length / 4);
    for (let i = 0; i < out.length; i++) out[i] = src[i * 4 + 3] !== 0 ? 1 : 0;
    return out;
  }

  /** The page fills the hole itself (inpaint.js around the model in ONNX Runtime Web);
   * where a WebGPU run fails, once more with WebAssembly. */
  async function fillInBrowser(withSketch) {
    const m = state.models && state.models.get(el.model.value);
    if (!m) throw new Error('no model is listed in models.json');
    const img = currentImage();
    const mp = (img.w * img.h) / 1e6;
    if (mp > BROWSER_MAX_MEGAPIXELS) {
      throw new Error(`this page fills images of up to ${BROWSER_MAX_MEGAPIXELS} megapixels in the browser; `
        + `this one has ${mp.toFixed(1)} (the inpainting server, context-encoder serve, takes larger ones)`);
    }
    const bitmap = await createImageBitmap(img.blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    const c = document.createElement('canvas');
    c.width = img.w;
    c.height = img.h;
    const ctx = c.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(bitmap, 0, 0);
    bitmap.close();
    const rgba = ctx.getImageData(0, 0, img.w, img.h);
    const hole = layerBits(maskCtx);
    const sketch = withSketch ? layerBits(sketchCtx) : null;
    let filled;
    let provider;
    for (;;) {
      const made = await modelSession(m);
      provider = made.provider;
      const run = async (feeds) => {
        const tensors = {};
        for (const [k, v] of Object.entries(feeds)) tensors[k] = new ort.Tensor('float32', v.data, v.dims);
        const out = await made.session.run(tensors);
        return out.output.getData ? await out.output.getData() : out.output.data;
      };
      try {
        filled = await CEInpaint.fill(m, rgba.data, img.w, img.h, hole, sketch, run);
        break;
      } catch (err) {
        if (provider !== 'webgpu') throw err;
        state.wasmOnly = true; // WebGPU failed here: WebAssembly from now on
        state.sessions.delete(m.name);
      }
    }
    ctx.putImageData(new ImageData(filled, img.w, img.h), 0, 0);
    const blob = await new Promise((resolve, reject) => {
      c.toBlob((b) => (b ? resolve(b) : reject(new Error('could not encode the result'))), 'image/png');
    });
    let alpha = false;
    for (let i = 3; i < rgba.data.length && !alpha; i += 4) alpha = rgba.data[i] !== 255;
    const where = provider === 'webgpu' ? 'WebGPU' : 'WebAssembly';
    const note = alpha ? ' (this image has transparency: the browser\'s canvas may have changed the colour of its semi-transparent pixels; the server keeps them)' : '';
    return { blob, how: ` with ${m.name} in the browser (${where})${note}` };
  }

  async function loadModels() {
    try {
      const res = await fetch(IN_BROWSER ? 'models.json' : 'api/v1/models');
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = await res.json();
      el.model.replaceChildren();
      state.models = new Map(body.models.map((m) => [m.name, m]));
      for (const m of body.models) {
        const opt = document.createElement('option');
        opt.value = m.name;
        const detail = [m.task, m.image_size ? `${m.image_size}px` : null, m.sketch ? 'sketch' : null]
          .filter(Boolean).join(', ');
        opt.textContent = detail ? `${m.name} (${detail})` : m.name;
        opt.selected = m.name === body.default;
        el.model.append(opt);
      }
    } catch (err) {
      el.model.hidden = true;
      el.sketchNote.textContent = 'no model list: no sketch';
      if (IN_BROWSER && location.protocol === 'file:') {
        setStatus('This page must be served over HTTP, not opened as a file: run '
          + '"python3 -m http.server -d FOLDER 8000" and open http://127.0.0.1:8000/.', 'error');
      } else {
        const fallback = IN_BROWSER ? 'nothing can be filled' : "the server's default is used";
        setStatus(`Could not list the models (${err.message}); ${fallback}.`, 'error');
      }
    }
    state.listed = true;
    updateUI();
  }

  /** Whether the chosen model takes a sketch (false until the models are listed). */
  function takesSketch() {
    const m = state.models && state.models.get(el.model.value);
    return Boolean(m && m.sketch);
  }

  // -- UI state -------------------------------------------------------------------------
  function updateUI() {
    const ready = Boolean(state.original) && !state.busy;
    const mask = ready && hasMask();
    el.open.disabled = state.busy;
    el.undo.disabled = !ready || state.pos === 0;
    el.redo.disabled = !ready || state.pos >= state.ops.length;
    el.clear.disabled = !ready || !(hasMask() || hasSketch());
    el.inpaint.disabled = !mask;
    el.compare.disabled = !ready || !beforeImage();
    el.download.disabled = !ready || lastResultIndex() < 0;
    el.model.disabled = state.busy;
    const sketch = takesSketch();
    el.sketch.disabled = !sketch;
    el.sketchNote.hidden = sketch || !state.listed;
    // a hidden note would still be read as the description: only point at it when shown
    if (el.sketchNote.hidden) el.sketch.removeAttribute('aria-describedby');
    else el.sketch.setAttribute('aria-describedby', 'sketch-note');
    el.wrap.classList.toggle('unused-sketch', !sketch);
    if (!sketch && state.tool === 'sketch') setTool('brush');
  }

  // -- wiring ---------------------------------------------------------------------------
  el.open.addEventListener('click', () => el.fileInput.click());
  el.dropHint.addEventListener('click', () => { if (!state.busy) el.fileInput.click(); });
  el.fileInput.addEventListener('change', () => {
    const f = el.fileInput.files && el.fileInput.files[0];
    if (f) openFile(f);
    el.fileInput.value = '';
  });

  el.brush.addEventListener('click', () => setTool('brush'));
  el.rect.addEventListener('click', () => setTool('rect'));
  el.sketch.addEventListener('click', () => setTool('sketch'));
  el.model.addEventListener('change', updateUI);
  el.size.addEventListener('input', () => {
    state.sizeTouched = true;
    el.sizeValue.textContent = el.size.value;
  });
  el.undo.addEventListener('click', undo);
  el.redo.addEventListener('click', redo);
  el.clear.addEventListener('click', clearMask);
  el.inpaint.addEventListener('click', inpaint);
  el.download.addEventListener('click', downloadResult);

  el.compare.addEventListener('pointerdown', compareDown);
  el.compare.addEventListener('pointerup', compareUp);
  el.compare.addEventListener('pointerleave', compareUp);
  el.compare.addEventListener('pointercancel', compareUp);
  el.compare.addEventListener('click', (e) => {
    if (e.detail === 0) setComparing(!state.comparing); // keyboard activation
  });

  el.canvas.addEventListener('pointerdown', onPointerDown);
  el.canvas.addEventListener('pointermove', onPointerMove);
  el.canvas.addEventListener('pointerup', onPointerUp);
  el.canvas.addEventListener('pointercancel', onPointerUp);
  el.canvas.addEventListener('pointerleave', () => { el.cursor.hidden = true; });
  el.canvas.addEventListener('contextmenu', (e) => e.preventDefault());

  document.addEventListener('keydown', (e) => {
    const t = e.target;
    const typing = t instanceof HTMLSelectElement || (t instanceof HTMLInputElement && t.type !== 'range');
    const mod = e.ctrlKey || e.metaKey;
    const k = e.key.toLowerCase();
    if (mod && k === 'z' && !e.shiftKey) {
      e.preventDefault();
      undo();
    } else if (mod && (k === 'y' || (k === 'z' && e.shiftKey))) {
      e.preventDefault();
      redo();
    } else if (mod && k === 'o') {
      e.preventDefault();
      if (!state.busy) el.fileInput.click();
    } else if (mod && k === 's') {
      e.preventDefault();
      downloadResult();
    } else if (!mod && !e.altKey && !typing) {
      if (k === 'b') setTool('brush');
      else if (k === 'r') setTool('rect');
      else if (k === 's') setTool('sketch');
      else if (k === '[') { state.sizeTouched = true; setBrushSize(brushSize() * 0.8); }
      else if (k === ']') { state.sizeTouched = true; setBrushSize(Math.max(brushSize() + 1, brushSize() * 1.25)); }
      else if (k === 'enter' && !(t instanceof HTMLButtonElement)) inpaint();
    }
  });

  let dragDepth = 0;
  const hasFiles = (e) => Boolean(e.dataTransfer) && Array.from(e.dataTransfer.types || []).includes('Files');
  window.addEventListener('dragenter', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    dragDepth += 1;
    el.stage.classList.add('dragging');
  });
  window.addEventListener('dragleave', () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) el.stage.classList.remove('dragging');
  });
  window.addEventListener('dragover', (e) => {
    if (hasFiles(e)) e.preventDefault();
  });
  window.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    dragDepth = 0;
    el.stage.classList.remove('dragging');
    const f = e.dataTransfer.files[0];
    if (f) openFile(f);
  });
  document.addEventListener('paste', (e) => {
    const f = e.clipboardData && Array.from(e.clipboardData.files).find((x) => x.type.startsWith('image/'));
    if (f) openFile(f);
  });

  window.addEventListener('resize', layout);
  if (typeof ResizeObserver === 'function') new ResizeObserver(layout).observe(el.stage);

  setTool('brush');
  setBrushSize(brushSize());
  updateUI();
  loadModels();
})();
