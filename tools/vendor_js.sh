#!/usr/bin/env bash
# Vendor the JavaScript the HTML book loads, so that no page depends on a CDN.
#
# Fetches from the npm registry (with `npm pack`, no node_modules) and unpacks into
# _static/vendor/ (gitignored; `make book` runs this when the stamp is missing):
#   require.js                requirejs 2.x (AMD loader needed by the widget manager)
#   html-manager/embed-amd.js @jupyter-widgets/html-manager 1.x (ipywidgets 8 views) + its fonts
#   mathjax/                  mathjax 4.x: tex-mml-chtml.js, a11y/assistive-mml.js (the hidden
#                             MathML for screen readers), the TeX packages a macro such as
#                             \cancel loads (input/tex/extensions), and in
#                             fonts/mathjax-newcm-font/ the CHTML woff2 files and character
#                             ranges of @mathjax/mathjax-newcm-font, which MathJax loads lazily
#                             from `[mathjax]/fonts` (_config.yml; by default from a CDN)
# _config.yml points `nb_ipywidgets_js` and `mathjax_path` at these files, and
# tools/vendor_assets.py keeps Jupyter Book from adding them to every page.
#
# `tools/vendor_js.sh --test` instead fetches what only the tests use, into tests/vendor/
# (gitignored; `make test` runs it when missing):
#   axe.min.js                axe-core 4.x, the accessibility checks of tests/test_browser.py
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/_static/vendor"
REQUIREJS="requirejs@2.3.8"
HTML_MANAGER="@jupyter-widgets/html-manager@1.0.15"
MATHJAX="mathjax@4.1.3"
MATHJAX_FONT="@mathjax/mathjax-newcm-font@4.1.3" # the font mathjax 4.1.3 depends on
AXE_CORE="axe-core@4.11.0"

command -v npm >/dev/null || { echo "vendor_js.sh: npm is required (apt-get install npm)" >&2; exit 1; }

if [[ "${1:-}" == "--test" ]]; then
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && npm pack --silent "$AXE_CORE" >/dev/null && tar -xzf axe-core-*.tgz)
    mkdir -p "$ROOT/tests/vendor"
    cp "$work/package/axe.min.js" "$ROOT/tests/vendor/axe.min.js.tmp"
    echo "$AXE_CORE" > "$ROOT/tests/vendor/VERSIONS"
    mv "$ROOT/tests/vendor/axe.min.js.tmp" "$ROOT/tests/vendor/axe.min.js"
    echo "vendored into tests/vendor: $AXE_CORE"
    exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "$REQUIREJS" "$HTML_MANAGER" "$MATHJAX" "$MATHJAX_FONT" >/dev/null
for tgz in *.tgz; do
    mkdir -p "x/${tgz%.tgz}"
    tar -xzf "$tgz" -C "x/${tgz%.tgz}"
done
req="$(echo x/requirejs-*/package)"
hm="$(echo x/jupyter-widgets-html-manager-*/package/dist)"
mj="$(echo x/mathjax-4*/package)"
font="$(echo x/mathjax-mathjax-newcm-font-*/package)"

stage="$work/vendor"
mkdir -p "$stage/html-manager" "$stage/mathjax"
cp "$req/require.js" "$stage/require.js"
cp "$hm/embed-amd.js" "$stage/html-manager/"
cp "$hm"/*.woff2 "$hm"/*.woff "$hm"/*.ttf "$hm"/*.eot "$hm"/*.svg "$stage/html-manager/"
# Only what pages load (TeX input and CHTML output are in tex-mml-chtml.js) or a TeX macro
# may load; the speech explorer (a11y/explorer, sre/) is off in _config.yml: not copied.
ncm="$stage/mathjax/fonts/mathjax-newcm-font/chtml"
mkdir -p "$stage/mathjax/a11y" "$stage/mathjax/input/tex" "$ncm"
cp "$mj/tex-mml-chtml.js" "$mj/LICENSE" "$stage/mathjax/"
cp "$mj/a11y/assistive-mml.js" "$stage/mathjax/a11y/"
cp -r "$mj/input/tex/extensions" "$stage/mathjax/input/tex/"
cp -r "$font/chtml/woff2" "$font/chtml/dynamic" "$ncm/"
printf '%s\n' "$REQUIREJS" "$HTML_MANAGER" "$MATHJAX" "$MATHJAX_FONT" > "$stage/VERSIONS"

rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
mv "$stage" "$DEST"
echo "vendored into ${DEST#"$ROOT"/}: $(tr '\n' ' ' < "$DEST/VERSIONS")"
