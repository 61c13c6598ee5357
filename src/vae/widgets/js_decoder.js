/* A VAE's decoder with M = 2 in plain JavaScript: drag anywhere in z, see E[x | z] at once.
 *
 * `vae.widgets.js_decoder.latent_decoder(model, ...)` (src/vae/widgets/js_decoder.py) writes
 * one HTML output: a <div>, this file, and a call `vaeLatentDecoder.mount(div, spec)` in an
 * inline <script>, where `spec` carries the decoder's weights (float32, base64, as torch stores
 * them) and the points to draw. The same output runs in the book's static page, in JupyterLab (once the
 * notebook is trusted) and in Colab's output frame: no kernel, no network, no library.
 *
 * The forward pass is the decoder's network (Linear, tanh, ..., Linear) in float64 on the
 * float32 weights, then the mean of p(x | z) per pixel: sum_k k softmax(l)_k for a Categorical
 * pixel over the counts 0..K-1, n sigmoid(l) for a Binomial one, sigmoid(l) for a Bernoulli
 * one, l itself for a Gaussian. tests/test_js_decoder.py checks it against torch (node).
 */
(function (root) {
  "use strict";

  var MINUS = "\u2212";
  // matplotlib's tab10, as the book's scatter plots colour the digit classes
  var TAB10 = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
  ];

  /** The float32 array (little-endian, as torch writes it) in a base64 string. */
  function floats(b64) {
    var bin = atob(b64);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      bytes[i] = bin.charCodeAt(i);
    }
    return new Float32Array(bytes.buffer);
  }

  /** decode(z) -> Float64Array of the D pixel means E[x | z], for z = [z1, ..., zM]. */
  function makeDecoder(spec) {
    var layers = spec.layers.map(function (l) {
      return { n_in: l.n_in, n_out: l.n_out, w: floats(l.weight), b: floats(l.bias) };
    });
    var d = spec.x_dim;
    var k = spec.per_pixel;
    return function decode(z) {
      var h = Float64Array.from(z);
      for (var li = 0; li < layers.length; li++) {
        var L = layers[li];
        var out = new Float64Array(L.n_out);
        for (var o = 0; o < L.n_out; o++) {
          var s = L.b[o];
          var row = o * L.n_in; // torch's Linear weight is [out, in], row-major
          for (var i = 0; i < L.n_in; i++) {
            s += L.w[row + i] * h[i];
          }
          out[o] = li < layers.length - 1 ? Math.tanh(s) : s;
        }
        h = out;
      }
      var mean = new Float64Array(d);
      for (var p = 0; p < d; p++) {
        if (spec.likelihood === "categorical") {
          var base = p * k, max = -Infinity, total = 0, acc = 0;
          for (var j = 0; j < k; j++) {
            max = Math.max(max, h[base + j]);
          }
          for (j = 0; j < k; j++) {
            var e = Math.exp(h[base + j] - max);
            total += e;
            acc += j * e;
          }
          mean[p] = acc / total;
        } else if (spec.likelihood === "binomial") {
          mean[p] = spec.total_count / (1 + Math.exp(-h[p]));
        } else if (spec.likelihood === "bernoulli") {
          mean[p] = 1 / (1 + Math.exp(-h[p]));
        } else {
          mean[p] = h[p];
        }
      }
      return mean;
    };
  }

  function fmt(v) {
    var s = Math.abs(v).toFixed(2);
    return (v < 0 && s !== "0.00" ? MINUS : "") + s;
  }

  function rgb(color) {
    var m = /rgba?\(([^)]+)\)/.exec(color);
    var c = m ? m[1].split(",").map(parseFloat) : [0, 0, 0];
    return [c[0], c[1], c[2]];
  }

  /** Build the explorer inside `el` (an empty <div>) from `spec` (see js_decoder.py). */
  function mount(el, spec) {
    var decode = makeDecoder(spec);
    var ext = spec.extent;
    var side = Math.round(Math.sqrt(spec.x_dim));
    var z = spec.z.slice();
    var label = spec.label || "z";

    el.classList.add("vae-latent-decoder");
    el.innerHTML =
      '<div class="vae-ld-row" style="display:flex;flex-wrap:wrap;gap:12px 24px;' +
      'align-items:flex-start">' +
      '<canvas class="vae-ld-pad" role="img" style="width:260px;max-width:100%;' +
      'aspect-ratio:1;touch-action:none;cursor:crosshair;display:block"></canvas>' +
      '<div class="vae-ld-side" style="display:flex;flex-direction:column;gap:8px;' +
      'min-width:160px">' +
      '<canvas class="vae-ld-digit" width="' + side + '" height="' + side + '" role="img" ' +
      'style="width:160px;height:160px;image-rendering:pixelated;display:block;' +
      'border:1px solid currentColor"></canvas>' +
      '<output class="vae-ld-readout" style="font-variant-numeric:tabular-nums;' +
      'white-space:nowrap;display:block"></output>' +
      '<label style="display:flex;align-items:center;gap:6px;white-space:nowrap">' +
      '<span style="min-width:1.6em">' + label + "\u2081</span>" +
      '<input class="vae-ld-z1" type="range" style="width:140px;margin:0"></label>' +
      '<label style="display:flex;align-items:center;gap:6px;white-space:nowrap">' +
      '<span style="min-width:1.6em">' + label + "\u2082</span>" +
      '<input class="vae-ld-z2" type="range" style="width:140px;margin:0"></label>' +
      "</div></div>";
    var pad = el.querySelector(".vae-ld-pad");
    var digit = el.querySelector(".vae-ld-digit");
    var readout = el.querySelector(".vae-ld-readout");
    var sliders = [el.querySelector(".vae-ld-z1"), el.querySelector(".vae-ld-z2")];
    pad.setAttribute("aria-label", spec.pad_alt);
    sliders.forEach(function (s, i) {
      s.min = -ext;
      s.max = ext;
      s.step = 0.01;
      s.value = z[i];
      s.setAttribute("aria-label", label + " " + (i + 1));
    });

    var ctx = pad.getContext("2d");
    var dctx = digit.getContext("2d");
    var image = dctx.createImageData(side, side);
    var pending = false;

    function size() {
      var dpr = window.devicePixelRatio || 1;
      var w = Math.max(1, Math.round(pad.clientWidth * dpr));
      if (pad.width !== w) {
        pad.width = pad.height = w;
      }
    }

    function toPx(v, w) {
      return ((v + ext) / (2 * ext)) * w;
    }

    function drawPad(color) {
      size();
      var w = pad.width;
      var c = rgb(color);
      var ink = "rgb(" + c.join(",") + ")";
      var faint = "rgba(" + c.join(",") + ",0.35)";
      ctx.clearRect(0, 0, w, w);
      ctx.lineWidth = Math.max(1, w / 260);
      ctx.strokeStyle = faint;
      ctx.strokeRect(0.5, 0.5, w - 1, w - 1);
      ctx.beginPath();
      ctx.moveTo(w / 2, 0);
      ctx.lineTo(w / 2, w);
      ctx.moveTo(0, w / 2);
      ctx.lineTo(w, w / 2);
      ctx.stroke();
      var r = Math.max(1.5, w / 110);
      (spec.points || []).forEach(function (pt, i) {
        ctx.fillStyle = TAB10[(spec.labels ? spec.labels[i] : 0) % 10];
        ctx.beginPath();
        ctx.arc(toPx(pt[0], w), w - toPx(pt[1], w), r, 0, 2 * Math.PI);
        ctx.fill();
      });
      var x = toPx(z[0], w), y = w - toPx(z[1], w), m = w / 22;
      ctx.lineWidth = Math.max(2, w / 110);
      ctx.strokeStyle = ink;
      ctx.beginPath();
      ctx.arc(x, y, m, 0, 2 * Math.PI);
      ctx.moveTo(x - 2 * m, y);
      ctx.lineTo(x - m, y);
      ctx.moveTo(x + m, y);
      ctx.lineTo(x + 2 * m, y);
      ctx.moveTo(x, y - 2 * m);
      ctx.lineTo(x, y - m);
      ctx.moveTo(x, y + m);
      ctx.lineTo(x, y + 2 * m);
      ctx.stroke();
    }

    function drawDigit(color) {
      var mean = decode(z);
      var c = rgb(color);
      for (var p = 0; p < mean.length; p++) {
        var a = Math.min(1, Math.max(0, mean[p] / spec.max_value));
        image.data[4 * p] = c[0];
        image.data[4 * p + 1] = c[1];
        image.data[4 * p + 2] = c[2];
        image.data[4 * p + 3] = Math.round(255 * a);
      }
      dctx.putImageData(image, 0, 0);
      return mean;
    }

    function draw() {
      pending = false;
      // ink in the text colour on a transparent canvas: the page's own background, light or dark
      var color = getComputedStyle(el).color;
      drawPad(color);
      el.vaeMean = drawDigit(color);
      var text = label + " = (" + fmt(z[0]) + ", " + fmt(z[1]) + ")";
      readout.textContent = text;
      digit.setAttribute("aria-label", spec.digit_alt + " at " + text);
      el.setAttribute("data-z", z[0].toFixed(4) + "," + z[1].toFixed(4));
      sliders[0].value = z[0];
      sliders[1].value = z[1];
    }

    function schedule() {
      if (!pending) {
        pending = true;
        window.requestAnimationFrame(draw);
      }
    }

    function fromPointer(event) {
      var r = pad.getBoundingClientRect();
      var fx = (event.clientX - r.left) / r.width;
      var fy = (event.clientY - r.top) / r.height;
      z = [
        Math.min(ext, Math.max(-ext, (2 * fx - 1) * ext)),
        Math.min(ext, Math.max(-ext, (1 - 2 * fy) * ext)),
      ];
      schedule();
    }

    pad.addEventListener("pointerdown", function (event) {
      pad.setPointerCapture(event.pointerId);
      fromPointer(event);
    });
    pad.addEventListener("pointermove", function (event) {
      if (event.buttons || event.pointerType === "touch") {
        fromPointer(event);
      }
    });
    sliders.forEach(function (s, i) {
      s.addEventListener("input", function () {
        z[i] = parseFloat(s.value);
        schedule();
      });
    });
    // the page's light/dark switch (pydata-sphinx-theme's data-theme on <html>) and resizes
    if (window.MutationObserver) {
      new MutationObserver(schedule).observe(document.documentElement, {
        attributes: true,
        attributeFilter: ["data-theme", "class"],
      });
    }
    window.addEventListener("resize", schedule);
    el.vaeDecode = decode;
    draw();
  }

  var api = { floats: floats, makeDecoder: makeDecoder, mount: mount };
  if (typeof module !== "undefined" && module.exports) {
    module.exports = api;
  } else {
    root.vaeLatentDecoder = api;
  }
})(typeof window !== "undefined" ? window : this);
