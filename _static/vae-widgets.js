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
 * (`MathJax.Hub.Queue(["Typeset", MathJax.Hub, el])`), which MathJax 3 and 4 (the book's) lack:
 * every control with a description then throws "Cannot read properties of undefined (reading
 * 'Queue')". A small `MathJax.Hub.Queue` that calls MathJax 3/4's `typesetPromise` is added
 * once MathJax has loaded (it is deferred, so by DOMContentLoaded, before widgets render).
 *
 * Both are workarounds of @jupyter-widgets/html-manager bugs with no fixed release as of the
 * vendored 1.0.15 (MathJax 3: jupyter-widgets/ipywidgets#3829, open; its proposed fix #3847
 * waits on the font discovery): drop each part when a release fixes it.
 *
 * Third, the explorers' controls (src/vae/widgets) are made accessible, in the page and in a
 * notebook alike, since ipywidgets 8 leaves that out: each slider handle gets the slider's name
 * (aria-label) and a value text such as "latent dim M = 2" instead of the position "1"; the
 * number beside a slider is no longer editable (typing "3" there set the slider to a value that
 * is not an option and left the display out of sync); toggle buttons say which one is pressed
 * (aria-pressed) and form a named group. A control with the class
 * `vae-enabled-by-<name>-<index>` is disabled unless button <index> of the explorer's
 * `vae-control-<name>` toggle buttons is the pressed one (the KL-gap explorer's std slider
 * only matters for the "scaled std" q). Focus ring and touch targets are in vae-book.css.
 * All of this runs in the book only; in a notebook (JupyterLab, Colab, classic Notebook) the
 * explorers work without it (src/vae/widgets/stack.py).
 */
(function () {
  "use strict";
  function mathjax2Shim() {
    var mj = window.MathJax;
    if (!mj || mj.Hub || !mj.version || parseInt(mj.version, 10) < 3) {
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

  function text(el) {
    return el ? el.textContent.trim() : "";
  }

  function enhanceSlider(slider) {
    var handle = slider.querySelector(".noUi-handle");
    var readout = slider.querySelector(".widget-readout");
    if (!handle || !readout) {
      return;
    }
    var name = text(slider.querySelector(".widget-label"));
    var sync = function () {
      var valueText = name + " = " + text(readout);
      if (handle.getAttribute("aria-label") !== name) {
        handle.setAttribute("aria-label", name);
      }
      if (handle.getAttribute("aria-valuetext") !== valueText) {
        handle.setAttribute("aria-valuetext", valueText);
      }
      if (readout.getAttribute("contenteditable") !== "false") {
        readout.setAttribute("contenteditable", "false");
      }
    };
    sync();
    var watch = new MutationObserver(sync);
    watch.observe(handle, { attributes: true, attributeFilter: ["aria-valuetext", "aria-label"] });
    watch.observe(readout, { childList: true, characterData: true, subtree: true, attributes: true });
  }

  function pressedIndex(group) {
    var buttons = group.querySelectorAll(".widget-toggle-button");
    for (var i = 0; i < buttons.length; i++) {
      if (buttons[i].classList.contains("mod-active")) {
        return i;
      }
    }
    return -1;
  }

  function setEnabled(control, enabled) {
    var target = control.querySelector(".noUi-target");
    var handle = control.querySelector(".noUi-handle");
    control.classList.toggle("vae-disabled", !enabled);
    if (target && enabled === target.hasAttribute("disabled")) {
      if (enabled) {
        target.removeAttribute("disabled");
      } else {
        target.setAttribute("disabled", "");
      }
    }
    if (handle) {
      handle.setAttribute("aria-disabled", enabled ? "false" : "true");
      handle.setAttribute("tabindex", enabled ? "0" : "-1");
    }
  }

  function enhanceToggles(group, explorer) {
    var holder = group.querySelector(".widget-toggle-button");
    holder = holder && holder.parentElement;
    if (holder) {
      holder.setAttribute("role", "group");
      holder.setAttribute("aria-label", text(group.querySelector(".widget-label")).replace(/:$/, ""));
    }
    var name = (/(?:^| )vae-control-([\w-]+)/.exec(group.className) || [])[1];
    var sync = function () {
      group.querySelectorAll(".widget-toggle-button").forEach(function (button) {
        var pressed = button.classList.contains("mod-active") ? "true" : "false";
        if (button.getAttribute("aria-pressed") !== pressed) {
          button.setAttribute("aria-pressed", pressed);
        }
      });
      if (!name) {
        return;
      }
      var pressed = pressedIndex(group);
      var pattern = new RegExp("(?:^| )vae-enabled-by-" + name + "-(\\d+)(?: |$)");
      explorer.querySelectorAll("[class*='vae-enabled-by-" + name + "-']").forEach(function (c) {
        var m = pattern.exec(c.className);
        if (m) {
          setEnabled(c, Number(m[1]) === pressed);
        }
      });
    };
    sync();
    new MutationObserver(sync).observe(group, {
      attributes: true,
      attributeFilter: ["class"],
      subtree: true,
    });
    return sync;
  }

  var done = new WeakSet();
  var groupSyncs = [];
  function enhanceExplorers() {
    document.querySelectorAll(".vae-explorer").forEach(function (explorer) {
      explorer.querySelectorAll(".widget-slider").forEach(function (slider) {
        if (!done.has(slider) && slider.querySelector(".noUi-handle")) {
          done.add(slider);
          enhanceSlider(slider);
        }
      });
      explorer.querySelectorAll(".widget-toggle-buttons").forEach(function (group) {
        if (!done.has(group) && group.querySelector(".widget-toggle-button")) {
          done.add(group);
          groupSyncs.push(enhanceToggles(group, explorer));
        }
      });
    });
    groupSyncs.forEach(function (sync) {
      sync(); // controls rendered after their toggle group
    });
  }
  var pending = false;
  new MutationObserver(function () {
    if (!pending) {
      pending = true;
      window.requestAnimationFrame(function () {
        pending = false;
        enhanceExplorers();
      });
    }
  }).observe(document.documentElement, { childList: true, subtree: true });

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
