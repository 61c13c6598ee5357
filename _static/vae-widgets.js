/* Offline support for the ipywidgets of the static book (see src/vae/widgets/stack.py).
 *
 * The vendored widget manager (_static/vendor/html-manager/embed-amd.js) loads its icon fonts
 * from the folder of its AMD modules' uri, and require.js resolves that uri relative to the
 * PAGE ("chapters/@jupyter-widgets/html-manager/dist/"), where nothing exists: six font
 * requests fail on every widget page. This maps the two module names to the folder where
 * tools/vendor_js.sh put embed-amd.js and its fonts. It must run BEFORE require.js (list it
 * first in `nb_ipywidgets_js` in _config.yml): require.js takes a plain object found in
 * `window.require` as its initial configuration; module uris are fixed when embed-amd.js
 * defines its modules, so a later `require.config` is too late.
 *
 * Second, the manager typesets widget labels with the MathJax 2 API
 * (`MathJax.Hub.Queue(["Typeset", MathJax.Hub, el])`), which MathJax 3 (the book's) lacks:
 * every control with a description then throws "Cannot read properties of undefined (reading
 * 'Queue')". A small `MathJax.Hub.Queue` that calls MathJax 3's `typesetPromise` is added
 * once MathJax has loaded (it is deferred, so by DOMContentLoaded, before widgets render).
 *
 * Both are workarounds of @jupyter-widgets/html-manager bugs with no fixed release as of the
 * vendored 1.0.15 (MathJax 3: jupyter-widgets/ipywidgets#3829, open; its proposed fix #3847
 * waits on the font discovery): drop each part when a release fixes it.
 */
(function () {
  "use strict";
  function mathjax2Shim() {
    var mj = window.MathJax;
    if (!mj || mj.Hub || !mj.version || mj.version.charAt(0) !== "3") {
      return;
    }
    mj.Hub = {
      Queue: function (command) {
        var el = command && command[2];
        var run = function () {
          if (el && window.MathJax.typesetPromise) {
            window.MathJax.typesetPromise([el]).catch(function () {});
          }
        };
        if (mj.startup && mj.startup.promise) {
          mj.startup.promise.then(run);
        } else {
          run();
        }
      },
    };
  }
  mathjax2Shim();
  document.addEventListener("DOMContentLoaded", mathjax2Shim);

  var me = document.currentScript;
  if (!me || !me.src) {
    return;
  }
  // this file is _static/vae-widgets.js; the manager lives in _static/vendor/html-manager/
  var manager = me.src.split("?")[0].replace(/\/[^/]*$/, "") + "/vendor/html-manager";
  var config = {
    paths: {
      // uri ".../html-manager/libembed-amd.js" and ".../html-manager/html-manager.js":
      // both folders are the vendored html-manager folder
      "@jupyter-widgets/html-manager/dist": manager,
      "@jupyter-widgets/html-manager": manager + "/html-manager",
    },
  };
  if (typeof window.require === "function" && window.require.config) {
    window.require.config(config); // require.js already loaded (too late for the fonts)
  } else if (typeof window.require === "undefined") {
    window.require = config; // picked up by require.js when it loads
  }
})();
