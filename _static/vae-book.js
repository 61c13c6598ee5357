/* Small fixes for every page of the book (Jupyter Book adds every .js under _static).
 *
 * 1. Live Code offline. sphinx-thebe 0.3 loads thebe from a CDN when "Live Code" is clicked and
 *    writes "Loading thebe from CDN..." on the button; when the script cannot load (offline, or
 *    blocked) nothing else happens and the message stays forever. Say what went wrong instead.
 * 2. Punctuation after a formula. A browser may break a line between an inline formula and the
 *    "." or "," that follows it, leaving the mark alone at the start of the next line. Keep
 *    each such mark with its formula (a no-wrap span around both).
 * 3. Search snippets. Sphinx's search page shows a snippet of each hit's page text, taken from
 *    the page's HTML before MathJax typeset it, so every formula appears as raw TeX
 *    ("\(p_\theta(x)\)"). Drop the formulas from the snippet text, leaving an ellipsis.
 */
(function () {
  "use strict";

  var LIVE_CODE_FAILED =
    "Live Code could not start: it needs an internet connection (thebe loads from unpkg.com " +
    "and runs on mybinder.org). Use the Binder or Colab link in the launch menu, or run the " +
    "chapter on your computer (see the book's README).";
  var THEBE_TIMEOUT_MS = 30000;

  function liveCodeFailed() {
    document.querySelectorAll(".thebe-launch-button").forEach(function (button) {
      button.textContent = LIVE_CODE_FAILED;
      button.classList.add("vae-live-code-failed");
      button.setAttribute("role", "status");
    });
  }

  function isThebeScript(el) {
    return (
      el &&
      el.tagName === "SCRIPT" &&
      typeof THEBE_JS_URL !== "undefined" &&
      el.src === THEBE_JS_URL // eslint-disable-line no-undef
    );
  }

  // A failed <script> load does not bubble: listen in the capture phase.
  window.addEventListener(
    "error",
    function (event) {
      if (isThebeScript(event.target)) {
        liveCodeFailed();
      }
    },
    true,
  );
  // A request that neither loads nor fails (a captive portal, a dead proxy): give up later.
  new MutationObserver(function (records) {
    records.forEach(function (record) {
      record.addedNodes.forEach(function (node) {
        if (isThebeScript(node)) {
          setTimeout(function () {
            if (typeof thebelab === "undefined") {
              liveCodeFailed();
            }
          }, THEBE_TIMEOUT_MS);
        }
      });
    });
  }).observe(document.documentElement, { childList: true, subtree: true });

  function keepPunctuationWithMath() {
    document.querySelectorAll(".bd-article span.math").forEach(function (math) {
      var next = math.nextSibling;
      if (!next || next.nodeType !== Node.TEXT_NODE) {
        return;
      }
      var mark = /^[.,;:!?)\u2019\u201d]+/.exec(next.data);
      if (!mark || math.parentElement.classList.contains("vae-nowrap")) {
        return;
      }
      var rest = next.splitText(mark[0].length);
      var box = document.createElement("span");
      box.className = "vae-nowrap";
      box.style.whiteSpace = "nowrap";
      math.parentNode.insertBefore(box, math);
      box.appendChild(math);
      box.appendChild(next);
    });
  }
  document.addEventListener("DOMContentLoaded", keepPunctuationWithMath);

  function patchSearchSnippets() {
    // searchtools.js declares `const Search` at top level: a global binding, not on window.
    var search = typeof Search === "undefined" ? null : Search; // eslint-disable-line no-undef
    if (!search || !search.htmlToText || search.htmlToText.vaeNoTeX) {
      return;
    }
    var original = search.htmlToText;
    var withoutMath = function (htmlString, anchor) {
      var doc = new DOMParser().parseFromString(htmlString, "text/html");
      doc.querySelectorAll(".math, script[type^='math/tex']").forEach(function (el) {
        el.replaceWith(doc.createTextNode("\u2026"));
      });
      return original(doc.documentElement.outerHTML, anchor);
    };
    withoutMath.vaeNoTeX = true;
    search.htmlToText = withoutMath;
  }
  patchSearchSnippets();
  document.addEventListener("DOMContentLoaded", patchSearchSnippets);
})();
