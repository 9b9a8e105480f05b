/* Context Encoder in the browser: the pixel work around the generator, as the Python
 * package does it (context_encoder/inference/windows.py and pipeline/host.py), so that a
 * fill made here matches the server's for the same model, image and mask.
 *
 *   fill(model, rgba, w, h, hole, sketch, run) -> RGBA with the hole filled
 *
 * model: an entry of models.json (task, image_size, center_span, blank_span, blank_size,
 * hole_size, mean_fill, feather); rgba: the image's RGBA bytes (w x h); hole, sketch:
 * Uint8Array of w*h, non-zero = hole / stroke (sketch may be null); run(feeds) -> Promise
 * of the generator's output (a Float32Array, N x 3 x S' x S', in [-1, 1]) for feeds
 * { image, mask, sketch } (each { data: Float32Array, dims }) - the page runs it with
 * onnxruntime-web, a Node test with onnxruntime-web's Node build.
 *
 * Steps (each named after its Python twin): group the hole's 8-connected components into
 * windows (group_holes, WindowGeometry.place), fill holes seen as context with a push-pull
 * interpolation (smooth_fill), crop each window (reflected past the edges: crop_window),
 * resize it to the model's side (resize_square: OpenCV's area shrinking and cubic
 * enlarging; resize_any for binary maps), build the model input (model_input: the hole at
 * the mean colour), run the generator, resize each prediction back (paste_window), blend
 * the seam (feather_seam: exact Euclidean distance, Gaussian blur with OpenCV's kernel) and
 * write the hole's pixels only (write_hole: alpha and every other pixel unchanged).
 *
 * Images are Float32Array, row-major, c channels per pixel, values in [0, 1].
 */
(function (root, factory) {
  if (typeof module === 'object' && module.exports) module.exports = factory();
  else root.CEInpaint = factory();
})(typeof self !== 'undefined' ? self : this, () => {
  'use strict';

  /** An image: h x w pixels of c float channels. */
  function image(h, w, c, data) {
    return { h, w, c, data: data || new Float32Array(h * w * c) };
  }

  /** Index into 0..n-1 reflected about the edges, the edge pixel not repeated (OpenCV's
   * default border: pixels.reflect_index). */
  function reflect(i, n) {
    if (n === 1) return 0;
    const period = 2 * (n - 1);
    const r = ((i % period) + period) % period;
    return r < n ? r : period - r;
  }

  // -- resampling: cv2.resize on float images ------------------------------------------
  /** Per output index: source indices and weights, for OpenCV's INTER_AREA shrinking
   * (n -> m, m <= n), INTER_LINEAR or INTER_CUBIC (A = -0.75, edges replicated). */
  function table(n, m, kind) {
    const scale = n / m;
    const rows = [];
    for (let d = 0; d < m; d++) {
      const idx = [];
      const wts = [];
      if (kind === 'area') {
        const f1 = d * scale;
        const f2 = f1 + scale;
        const cell = Math.min(scale, n - f1);
        const s2 = Math.min(Math.floor(f2), n - 1);
        const s1 = Math.min(Math.ceil(f1), s2);
        if (s1 - f1 > 1e-3) { idx.push(s1 - 1); wts.push((s1 - f1) / cell); }
        for (let s = s1; s < s2; s++) { idx.push(s); wts.push(1 / cell); }
        if (f2 - s2 > 1e-3) { idx.push(s2); wts.push(Math.min(Math.min(f2 - s2, 1), cell) / cell); }
      } else {
        let fx = (d + 0.5) * scale - 0.5;
        let sx = Math.floor(fx);
        fx -= sx;
        const clamp = (i) => Math.min(Math.max(i, 0), n - 1);
        if (kind === 'linear') {
          if (sx < 0) { fx = 0; sx = 0; }
          if (sx >= n - 1) { fx = 0; sx = n - 1; }
          idx.push(sx, clamp(sx + 1));
          wts.push(1 - fx, fx);
        } else {
          const A = -0.75;
          const x = fx;
          const c0 = ((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A;
          const c1 = ((A + 2) * x - (A + 3)) * x * x + 1;
          const c2 = ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1;
          idx.push(clamp(sx - 1), clamp(sx), clamp(sx + 1), clamp(sx + 2));
          wts.push(c0, c1, c2, 1 - c0 - c1 - c2);
        }
      }
      rows.push([idx, wts]);
    }
    return rows;
  }

  /** ``src`` resized to dh x dw: area when shrinking, else cubic (or linear). */
  function resize(src, dh, dw, smoothUp = true) {
    if (src.h === dh && src.w === dw) return src;
    const pick = (n, m) => (n > m ? 'area' : smoothUp ? 'cubic' : 'linear');
    const { h, w, c } = src;
    // rows first along x, then along y (separable)
    const tx = table(w, dw, pick(w, dw));
    const mid = image(h, dw, c);
    for (let y = 0; y < h; y++) {
      const s = y * w * c;
      const o = y * dw * c;
      for (let x = 0; x < dw; x++) {
        const [idx, wts] = tx[x];
        for (let k = 0; k < c; k++) {
          let v = 0;
          for (let j = 0; j < idx.length; j++) v += wts[j] * src.data[s + idx[j] * c + k];
          mid.data[o + x * c + k] = v;
        }
      }
    }
    const ty = table(h, dh, pick(h, dh));
    const out = image(dh, dw, c);
    const row = dw * c;
    for (let y = 0; y < dh; y++) {
      const [idx, wts] = ty[y];
      const o = y * row;
      for (let j = 0; j < idx.length; j++) {
        const s = idx[j] * row;
        const wj = wts[j];
        for (let i = 0; i < row; i++) out.data[o + i] += wj * mid.data[s + i];
      }
    }
    return out;
  }

  function resizeSquare(src, size, smoothUp = true) {
    return resize(src, size, size, smoothUp);
  }

  /** A binary square map (holes, strokes) resized to size x size as 0/1: set where any
   * pixel of its footprint is set (windows.resize_any). */
  function resizeAny(src, size) {
    const m = resizeSquare(src, size, false);
    const t = src.h >= size ? 0 : 1e-3;
    const out = image(size, size, 1);
    for (let i = 0; i < out.data.length; i++) out.data[i] = m.data[i] > t ? 1 : 0;
    return out;
  }

  function clip01(a) {
    for (let i = 0; i < a.data.length; i++) a.data[i] = Math.min(Math.max(a.data[i], 0), 1);
    return a;
  }

  // -- holes and windows ---------------------------------------------------------------
  /** 8-connected components of ``hole`` (h x w, non-zero = hole), labelled 1.. in the order
   * of their first pixel in raster order, with each one's box and area. */
  function components(hole, h, w) {
    const labels = new Int32Array(h * w);
    const comps = [];
    const stack = [];
    for (let start = 0; start < h * w; start++) {
      if (!hole[start] || labels[start]) continue;
      const id = comps.length + 1;
      const box = { y0: h, x0: w, y1: 0, x1: 0, area: 0 };
      labels[start] = id;
      stack.push(start);
      while (stack.length) {
        const p = stack.pop();
        const y = (p / w) | 0;
        const x = p - y * w;
        box.area += 1;
        if (y < box.y0) box.y0 = y;
        if (x < box.x0) box.x0 = x;
        if (y + 1 > box.y1) box.y1 = y + 1;
        if (x + 1 > box.x1) box.x1 = x + 1;
        for (let dy = -1; dy <= 1; dy++) {
          const yy = y + dy;
          if (yy < 0 || yy >= h) continue;
          for (let dx = -1; dx <= 1; dx++) {
            const xx = x + dx;
            if (xx < 0 || xx >= w) continue;
            const q = yy * w + xx;
            if (hole[q] && !labels[q]) { labels[q] = id; stack.push(q); }
          }
        }
      }
      comps.push(box);
    }
    return { labels, comps };
  }

  /** Window sides and positions for one model (windows.WindowGeometry). */
  function geometry(model) {
    const size = model.image_size;
    const full = model.task === 'full';
    const [a, b] = model.blank_span;
    const minSide = full ? size : model.hole_size;
    const side = (s, longest) => {
      const lo = Math.max(2, Math.min(minSide, longest));
      const need = full ? Math.min(2 * s, Math.max(longest, size))
        : Math.ceil((s * size) / model.blank_size);
      return Math.max(need, lo);
    };
    const insideBlank = (i0, i1, n) => i0 * size >= a * n && i1 * size <= b * n;
    const clampWindow = (start, n, len) => (n <= len ? Math.min(Math.max(start, 0), len - n)
      : Math.min(Math.max(start, len - n), 0));
    function place(g, hImg, wImg) {
      const { y0, x0, y1, x1 } = g.box;
      const bh = y1 - y0;
      const bw = x1 - x0;
      let n = side(Math.max(bh, bw), Math.max(hImg, wImg));
      let top;
      let left;
      if (full) {
        top = clampWindow(y0 - Math.floor((n - bh) / 2), n, hImg);
        left = clampWindow(x0 - Math.floor((n - bw) / 2), n, wImg);
      } else {
        for (;;) {
          top = y0 - Math.floor((n - bh) / 2);
          left = x0 - Math.floor((n - bw) / 2);
          if (insideBlank(y0 - top, y1 - top, n) && insideBlank(x0 - left, x1 - left, n)) break;
          n += 1;
        }
      }
      Object.assign(g, { top, left, side: n });
    }
    /** Whether hole pixels reach the model's input of window g as context. */
    function needsSmooth(hole, hImg, wImg, g) {
      if (g.side < size) return true;
      if (full) return false;
      let r0 = Infinity; let r1 = -1; let c0 = Infinity; let c1 = -1;
      for (let i = 0; i < g.side; i++) {
        const y = reflect(g.top + i, hImg);
        for (let j = 0; j < g.side; j++) {
          if (hole[y * wImg + reflect(g.left + j, wImg)]) {
            r0 = Math.min(r0, i); r1 = Math.max(r1, i); c0 = Math.min(c0, j); c1 = Math.max(c1, j);
          }
        }
      }
      return !(insideBlank(r0, r1 + 1, g.side) && insideBlank(c0, c1 + 1, g.side));
    }
    return { size, full, side, place, needsSmooth };
  }

  /** The components grouped where they share a window: largest first, a component joins
   * the group whose window would not grow by taking it in (smallest union box), else
   * starts its own (windows.group_holes). */
  function groupHoles(hole, h, w, geo) {
    const { labels, comps } = components(hole, h, w);
    const longest = Math.max(h, w);
    const order = comps.map((_, i) => i).sort((i, j) => comps[j].area - comps[i].area || i - j);
    const groups = [];
    for (const i of order) {
      const b = comps[i];
      let best = -1;
      let bestArea = Infinity;
      let bestBox = null;
      let bestSide = 0;
      groups.forEach((g, j) => {
        const u = { y0: Math.min(g.box.y0, b.y0), x0: Math.min(g.box.x0, b.x0),
          y1: Math.max(g.box.y1, b.y1), x1: Math.max(g.box.x1, b.x1) };
        const s = geo.side(Math.max(u.y1 - u.y0, u.x1 - u.x0), longest);
        const area = (u.y1 - u.y0) * (u.x1 - u.x0);
        if (s <= g.gside && area < bestArea) {
          best = j; bestArea = area; bestBox = u; bestSide = s;
        }
      });
      if (best >= 0) {
        const g = groups[best];
        g.box = bestBox;
        g.gside = bestSide;
        g.labels.push(i + 1);
      } else {
        groups.push({ labels: [i + 1], box: { y0: b.y0, x0: b.x0, y1: b.y1, x1: b.x1 },
          gside: geo.side(Math.max(b.y1 - b.y0, b.x1 - b.x0), longest) });
      }
    }
    return { labels, groups };
  }

  /** The g.side square of a at (g.top, g.left), reflected past the edges. */
  function cropWindow(a, g) {
    const out = image(g.side, g.side, a.c);
    const cols = new Int32Array(g.side);
    for (let j = 0; j < g.side; j++) cols[j] = reflect(g.left + j, a.w);
    for (let i = 0; i < g.side; i++) {
      const s = reflect(g.top + i, a.h) * a.w;
      const o = i * g.side * a.c;
      for (let j = 0; j < g.side; j++) {
        for (let k = 0; k < a.c; k++) out.data[o + j * a.c + k] = a.data[(s + cols[j]) * a.c + k];
      }
    }
    return out;
  }

  // -- the push-pull fill (windows.smooth_fill) ----------------------------------------
  function pushPull(val, wgt) {
    const { h, w } = wgt;
    if (h === 1 && w === 1) {
      const d = Math.max(wgt.data[0], 1e-12);
      return image(1, 1, 3, val.data.map((v) => v / d));
    }
    const ch = (h + 1) >> 1;
    const cw = (w + 1) >> 1;
    const coarse = pushPull(resize(val, ch, cw), resize(wgt, ch, cw));
    const up = resize(coarse, h, w, false);
    const out = image(h, w, 3);
    for (let p = 0; p < h * w; p++) {
      const r = 1 - wgt.data[p];
      for (let k = 0; k < 3; k++) out.data[p * 3 + k] = val.data[p * 3 + k] + r * up.data[p * 3 + k];
    }
    return out;
  }

  function smoothFill(rgb, hole) {
    const n = rgb.h * rgb.w;
    const known = image(rgb.h, rgb.w, 1);
    const val = image(rgb.h, rgb.w, 3);
    for (let p = 0; p < n; p++) {
      known.data[p] = hole[p] ? 0 : 1;
      for (let k = 0; k < 3; k++) val.data[p * 3 + k] = rgb.data[p * 3 + k] * known.data[p];
    }
    const filled = pushPull(val, known);
    const base = image(rgb.h, rgb.w, 3, rgb.data.slice());
    for (let p = 0; p < n; p++) {
      if (!hole[p]) continue;
      for (let k = 0; k < 3; k++) base.data[p * 3 + k] = Math.min(Math.max(filled.data[p * 3 + k], 0), 1);
    }
    return base;
  }

  // -- the seam blend (windows.feather_seam) -------------------------------------------
  /** Exact Euclidean distance of each set pixel of ``m`` (h x w) to the nearest unset one
   * (cv2.distanceTransform, DIST_L2, precise): two passes of the lower envelope of
   * parabolas (Felzenszwalb and Huttenlocher). */
  function distance(m, h, w) {
    const INF = 1e20;
    const f = new Float64Array(h * w);
    for (let i = 0; i < h * w; i++) f[i] = m[i] ? INF : 0;
    const n = Math.max(h, w);
    const v = new Int32Array(n);
    const z = new Float64Array(n + 1);
    const line = new Float64Array(n);
    const out = new Float64Array(n);
    function pass(len, get, set) {
      for (let q = 0; q < len; q++) line[q] = get(q);
      const meet = (q, p) => ((line[q] + q * q) - (line[p] + p * p)) / (2 * (q - p));
      let k = 0;
      v[0] = 0; z[0] = -Infinity; z[1] = Infinity;
      for (let q = 1; q < len; q++) {
        let s = meet(q, v[k]);
        while (s <= z[k]) { k -= 1; s = meet(q, v[k]); }
        k += 1; v[k] = q; z[k] = s; z[k + 1] = Infinity;
      }
      k = 0;
      for (let q = 0; q < len; q++) {
        while (z[k + 1] < q) k += 1;
        const d = q - v[k];
        out[q] = d * d + line[v[k]];
      }
      for (let q = 0; q < len; q++) set(q, out[q]);
    }
    for (let x = 0; x < w; x++) pass(h, (y) => f[y * w + x], (y, val) => { f[y * w + x] = val; });
    for (let y = 0; y < h; y++) pass(w, (x) => f[y * w + x], (x, val) => { f[y * w + x] = val; });
    return f.map(Math.sqrt);
  }

  /** OpenCV's Gaussian kernel for sigma on float images (side round(8 sigma + 1) | 1). */
  function gaussianKernel(sigma) {
    const n = Math.round(sigma * 4 * 2 + 1) | 1;
    const k = new Float64Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const x = i - (n - 1) * 0.5;
      k[i] = Math.exp((-0.5 / (sigma * sigma)) * x * x);
      sum += k[i];
    }
    return k.map((v) => v / sum);
  }

  /** cv2.GaussianBlur(a, (0, 0), sigma), edges reflected (BORDER_REFLECT_101). */
  function gaussianBlur(a, sigma) {
    const k = gaussianKernel(sigma);
    const r = (k.length - 1) / 2;
    const { h, w, c } = a;
    const mid = image(h, w, c);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let ch = 0; ch < c; ch++) {
          let v = 0;
          for (let j = 0; j < k.length; j++) v += k[j] * a.data[(y * w + reflect(x + j - r, w)) * c + ch];
          mid.data[(y * w + x) * c + ch] = v;
        }
      }
    }
    const out = image(h, w, c);
    for (let y = 0; y < h; y++) {
      for (let j = 0; j < k.length; j++) {
        const s = reflect(y + j - r, h) * w * c;
        const o = y * w * c;
        for (let i = 0; i < w * c; i++) out.data[o + i] += k[j] * mid.data[s + i];
      }
    }
    return out;
  }

  /** The outer ``feather`` px of the hole blended towards a smooth estimate of the known
   * colours around it (the prediction's weight: 0.5 at the edge, 1 from feather px in). */
  function featherSeam(rgb, hole, pred, feather) {
    const { h, w } = rgb;
    let ry0 = h; let ry1 = -1; let rx0 = w; let rx1 = -1;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (!hole[y * w + x]) continue;
        ry0 = Math.min(ry0, y); ry1 = Math.max(ry1, y); rx0 = Math.min(rx0, x); rx1 = Math.max(rx1, x);
      }
    }
    if (feather <= 0 || ry1 < 0) return pred;
    const y0 = Math.max(ry0 - feather - 1, 0);
    const x0 = Math.max(rx0 - feather - 1, 0);
    const nh = Math.min(ry1 + feather + 2, h) - y0;
    const nw = Math.min(rx1 + feather + 2, w) - x0;
    const near = new Uint8Array(nh * nw);
    for (let y = 0; y < nh; y++) {
      for (let x = 0; x < nw; x++) near[y * nw + x] = hole[(y + y0) * w + x + x0] ? 1 : 0;
    }
    const dist = distance(near, nh, nw);
    const band = [];
    let by0 = h; let by1 = -1; let bx0 = w; let bx1 = -1;
    for (let y = 0; y < nh; y++) {
      for (let x = 0; x < nw; x++) {
        const p = y * nw + x;
        if (!near[p]) continue;
        const alpha = Math.min(Math.max(0.5 + (0.5 * (dist[p] - 1)) / feather, 0.5), 1);
        if (alpha >= 1) continue;
        const yy = y + y0;
        const xx = x + x0;
        band.push(yy, xx, alpha);
        by0 = Math.min(by0, yy); by1 = Math.max(by1, yy); bx0 = Math.min(bx0, xx); bx1 = Math.max(bx1, xx);
      }
    }
    if (!band.length) return pred;
    const pad = 3 * feather + 2;
    const r0 = Math.max(by0 - pad, 0);
    const r1 = Math.min(by1 + pad + 1, h);
    const c0 = Math.max(bx0 - pad, 0);
    const c1 = Math.min(bx1 + pad + 1, w);
    const known = image(r1 - r0, c1 - c0, 1);
    const val = image(r1 - r0, c1 - c0, 3);
    for (let y = r0; y < r1; y++) {
      for (let x = c0; x < c1; x++) {
        const p = (y - r0) * (c1 - c0) + x - c0;
        const kn = hole[y * w + x] ? 0 : 1;
        known.data[p] = kn;
        for (let k = 0; k < 3; k++) val.data[p * 3 + k] = rgb.data[(y * w + x) * 3 + k] * kn;
      }
    }
    const num = gaussianBlur(val, feather);
    const den = gaussianBlur(known, feather);
    const out = image(h, w, 3, pred.data.slice());
    for (let i = 0; i < band.length; i += 3) {
      const y = band[i];
      const x = band[i + 1];
      const a = band[i + 2];
      const p = (y - r0) * (c1 - c0) + x - c0;
      const d = den.data[p];
      if (!(d > 1e-4)) continue;
      for (let k = 0; k < 3; k++) {
        const q = (y * w + x) * 3 + k;
        out.data[q] = a * pred.data[q] + (1 - a) * (num.data[p * 3 + k] / d);
      }
    }
    return out;
  }

  // -- one fill -------------------------------------------------------------------------
  /** The windows' model inputs (pipeline/host.py: HostPipeline.prepare and make_job). */
  function prepare(model, rgb, hole, sketch) {
    const geo = geometry(model);
    const { labels, groups } = groupHoles(hole, rgb.h, rgb.w, geo);
    for (const g of groups) geo.place(g, rgb.h, rgb.w);
    const smooth = groups.some((g) => geo.needsSmooth(hole, rgb.h, rgb.w, g));
    const base = smooth ? smoothFill(rgb, hole) : rgb;
    const holeImg = image(rgb.h, rgb.w, 1, Float32Array.from(hole, (v) => (v ? 1 : 0)));
    const sketchImg = sketch && image(rgb.h, rgb.w, 1, Float32Array.from(sketch, (v) => (v ? 1 : 0)));
    const S = model.image_size;
    const fill = model.mean_fill;
    const jobs = groups.map((g) => {
      const context = clip01(resizeSquare(cropWindow(base, g), S));
      const x = new Float32Array(3 * S * S); // channels first, as the graph takes it
      const m = model.task === 'full' ? resizeAny(cropWindow(holeImg, g), S) : null;
      const s = m && sketchImg ? resizeAny(cropWindow(sketchImg, g), S) : null;
      const [a, b] = model.blank_span;
      for (let i = 0; i < S; i++) {
        for (let j = 0; j < S; j++) {
          const p = i * S + j;
          const blank = model.task === 'center' && i >= a && i < b && j >= a && j < b;
          const t = m ? m.data[p] : 0;
          for (let k = 0; k < 3; k++) {
            const v = context.data[p * 3 + k] * 2 - 1;
            x[k * S * S + p] = blank ? fill[k] : v * (1 - t) + fill[k] * t;
          }
        }
      }
      return { g, x, hole: m, sketch: s, context };
    });
    return { labels, jobs };
  }

  /** The generator over the jobs in batches; each job gets ``pred``, the whole window in
   * [0, 1] (pipeline/host.py: HostPipeline.generate). */
  async function generate(model, jobs, run, batch = 8) {
    const S = model.image_size;
    const full = model.task === 'full';
    const takesSketch = full && model.sketch;
    for (let i = 0; i < jobs.length; i += batch) {
      const part = jobs.slice(i, i + batch);
      const n = part.length;
      const cat = (get, per) => {
        const out = new Float32Array(n * per);
        part.forEach((j, q) => { const v = get(j); if (v) out.set(v, q * per); });
        return out;
      };
      const feeds = { image: { data: cat((j) => j.x, 3 * S * S), dims: [n, 3, S, S] } };
      if (full) feeds.mask = { data: cat((j) => j.hole.data, S * S), dims: [n, 1, S, S] };
      if (takesSketch) feeds.sketch = { data: cat((j) => j.sketch && j.sketch.data, S * S), dims: [n, 1, S, S] };
      const y = await run(feeds);
      const side = full ? S : model.center_span[1] - model.center_span[0];
      const per = 3 * side * side;
      part.forEach((j, q) => {
        const pred = image(S, S, 3, j.context.data.slice());
        const [c0] = full ? [0] : model.center_span;
        for (let r = 0; r < side; r++) {
          for (let c = 0; c < side; c++) {
            const p = (r + c0) * S + c + c0;
            const t = full ? j.hole.data[p] : 1;
            for (let k = 0; k < 3; k++) {
              const v = (Math.min(Math.max(y[q * per + k * side * side + r * side + c], -1), 1) + 1) * 0.5;
              pred.data[p * 3 + k] = t * v + (1 - t) * pred.data[p * 3 + k];
            }
          }
        }
        j.pred = pred;
      });
    }
  }

  /** Each window's prediction resized back and written into its components. */
  function paste(dest, labels, job) {
    const { g } = job;
    const back = resizeSquare(job.pred, g.side);
    const own = new Set(g.labels);
    const { y0, x0, y1, x1 } = g.box;
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        if (!own.has(labels[y * dest.w + x])) continue;
        const s = ((y - g.top) * g.side + x - g.left) * 3;
        for (let k = 0; k < 3; k++) dest.data[(y * dest.w + x) * 3 + k] = back.data[s + k];
      }
    }
  }

  /** Fill the hole of an RGBA image (see the top of this file); a new RGBA array. */
  async function fill(model, rgba, w, h, hole, sketch, run) {
    const rgb = image(h, w, 3);
    for (let p = 0; p < w * h; p++) {
      for (let k = 0; k < 3; k++) rgb.data[p * 3 + k] = rgba[p * 4 + k] / 255;
    }
    let any = false;
    let all = true;
    for (let p = 0; p < w * h; p++) { if (hole[p]) any = true; else all = false; }
    if (!any) return Uint8ClampedArray.from(rgba);
    if (all) throw new Error('the mask covers the whole image: there is no context to inpaint from');
    const strokes = sketch && model.sketch ? Uint8Array.from(sketch, (v, p) => (v && hole[p] ? 1 : 0)) : null;
    const { labels, jobs } = prepare(model, rgb, hole, strokes);
    await generate(model, jobs, run);
    const pred = image(h, w, 3);
    for (const job of jobs) paste(pred, labels, job);
    const out = featherSeam(rgb, hole, clip01(pred), model.feather);
    const res = Uint8ClampedArray.from(rgba);
    for (let p = 0; p < w * h; p++) {
      if (!hole[p]) continue;
      for (let k = 0; k < 3; k++) res[p * 4 + k] = Math.round(Math.min(Math.max(out.data[p * 3 + k], 0), 1) * 255);
    }
    return res;
  }

  return { fill, resize, resizeAny, smoothFill, featherSeam, groupHoles, geometry, distance, gaussianBlur, image };
});
