#!/usr/bin/env bash
# Build the HTML book, failing on any warning or cell error.
#
#   tools/build_book.sh [--force] [--output DIR]
#
# Execution: _config.yml uses `execute_notebooks: cache`, so a warm rebuild re-executes only
# chapters whose code changed. jupyter-cache keys a notebook on its code cells alone, so
# this script also keys the cache on the `vae` package: when any file in src/vae (or
# requirements.txt) changed since the cache was last filled, or with --force, it deletes
# the jupyter-cache and every chapter executes again. --output DIR builds into DIR/_build
# with its own (empty) cache: a fully fresh build, as the book test does.
# Sphinx re-reads every page (--all) unless the previous build of the folder was clean.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
force=0
output=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --force) force=1 ;;
        --output) output="$2"; shift ;;
        *) echo "usage: $0 [--force] [--output DIR]" >&2; exit 2 ;;
    esac
    shift
done

JB="${JUPYTER_BOOK:-$ROOT/.venv/bin/jupyter-book}"
[[ -x "$JB" ]] || JB="$(command -v jupyter-book)"

# Vendor the JavaScript when missing or older than the script that pins its versions.
[[ _static/vendor/VERSIONS -nt tools/vendor_js.sh ]] || tools/vendor_js.sh

build="${output:-$ROOT}/_build"
cache="$build/.jupyter_cache"
keyfile="$build/.vae-package.sha256"
package_key() {
    { find src/vae -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | sort -z \
        | xargs -0 sha256sum; sha256sum requirements.txt; } | sha256sum | cut -d' ' -f1
}
key="$(package_key)"
if [[ $force == 1 ]]; then
    echo "build_book: --force: clearing $cache"
    rm -rf "$cache"
elif [[ -d $cache && "$(cat "$keyfile" 2>/dev/null)" != "$key" ]]; then
    echo "build_book: src/vae or requirements.txt changed: clearing $cache (chapters re-execute)"
    rm -rf "$cache"
    force=1  # and Sphinx must re-read every page, or it keeps the old outputs
fi
# From here on the cache only holds executions against this package state.
mkdir -p "$build"
echo "$key" > "$keyfile"
# If the package changes while the build runs, the cache may mix both states: forget the key.
trap '[[ "$(package_key)" == "$key" ]] || rm -f "$keyfile"' EXIT

# Execute the chapters into the jupyter-cache first, two (one per core) at a time: myst-nb
# would execute them one after another while Sphinx reads. It then finds each one cached
# (same code cells) and executes nothing; a chapter that failed here has no cache entry, so
# myst-nb runs it again and reports the error. Trained models are shared through
# $VAE_FIT_CACHE (vae.cache): a chapter that trains a model an earlier one trained (same
# model, data and settings) loads it. The two workers take the chapters in the order of
# `longest_first` (their execution times in benchmarks/results, longest first, so that both
# finish at about the same time; chapters not listed go last), which also runs chapter 2
# before chapter 4 and chapter 5 before chapter 6, which train a model of those again.
export VAE_FIT_CACHE="$build/.fit-cache"
export JUPYTERCACHE="$cache"
[[ $force == 1 ]] && rm -rf "$VAE_FIT_CACHE"
JCACHE="$(dirname "$JB")/jcache"
[[ -x "$JCACHE" ]] || JCACHE="$(command -v jcache)"
longest_first="05-beyond 02-encoder 07-likelihood 04-sgd 03-elbo 08-rate-distortion
    06-full-covariance 01-latent-variable-models"
mapfile -t chapters < <(
    cd "$ROOT" && grep -l '^jupytext:' chapters/0*.md | sort \
        | awk -v order="$longest_first" 'BEGIN { n = split(order, o); for (i = 1; i <= n; i++) rank[o[i]] = i }
              { r = n + 1; for (c in rank) if (index($0, "/" c ".md")) r = rank[c]; print r, $0 }' \
        | sort -s -k1,1n | cut -d' ' -f2-
)
pre=$SECONDS
"$JCACHE" notebook add --reader myst_nb_md "${chapters[@]}" >/dev/null <<< y  # y: create the cache
"$JCACHE" project execute --executor local-parallel --timeout 600 || true
echo "build_book: executed the chapters in $((SECONDS - pre)) s"

# Sphinx re-reads only changed pages on a warm build, so a page's warnings are reported only
# when it is read: re-read every page (--all) unless the last build of this folder was clean.
okfile="$build/.last-build-clean"
args=(build "$ROOT" -W -n --keep-going)
[[ -f $okfile && $force == 0 ]] || args+=(--all)
rm -f "$okfile"
[[ -n $output ]] && args+=(--path-output "$output")
start=$SECONDS
"$JB" "${args[@]}"
touch "$okfile"  # reached only when the build passed (set -e)
echo "build_book: built $build/html in $((SECONDS - start)) s"
