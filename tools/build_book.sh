#!/usr/bin/env bash
# Build the HTML book, failing on any warning or cell error (`make book` runs this).
#
#   tools/build_book.sh [--force] [--output DIR]
#
# What a Makefile cannot say: the chapters execute into the jupyter-cache two at a time first
# (myst-nb alone would run them one after another), and that cache is keyed on the `vae`
# package too, which jupyter-cache (code cells only) does not see: when the digest of src/vae
# or requirements.txt (`python -m book.digest`) changed, or with --force, the cache is cleared.
# --output DIR builds into DIR/_build with its own empty cache (the book test's fresh build).
# Trained models are shared between chapters by `book.trained` (in $build/.trained), whatever
# the order in which the chapters run.
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
BIN="$(dirname "$JB")"
[[ _static/vendor/VERSIONS -nt tools/vendor_js.sh ]] || tools/vendor_js.sh

build="${output:-$ROOT}/_build"
cache="$build/.jupyter_cache"
keyfile="$build/.vae-package.sha256"
package_key() { "$BIN/python" -m book.digest requirements.txt; }
key="$(package_key)"
if [[ $force == 1 || ( -d $cache && "$(cat "$keyfile" 2>/dev/null)" != "$key" ) ]]; then
    echo "build_book: clearing $cache (--force, or src/vae or requirements.txt changed)"
    rm -rf "$cache"
    force=1  # and Sphinx must re-read every page, or it keeps the old outputs
fi
mkdir -p "$build"
echo "$key" > "$keyfile"
# If the package changes while the build runs, the cache may mix both states: forget the key.
trap '[[ "$(package_key)" == "$key" ]] || rm -f "$keyfile"' EXIT

# Execute the chapters (from _toc.yml) into the jupyter-cache, two at a time. myst-nb then
# finds each one cached and executes nothing; a chapter that failed here has no cache entry,
# so myst-nb runs it again and reports the error.
export JUPYTERCACHE="$cache"
export BOOK_TRAINED_DIR="$build/.trained"  # book.trained: models shared by the chapters
[[ $force == 1 && -n $output ]] && rm -rf "$BOOK_TRAINED_DIR"
mapfile -t chapters < <("$BIN/python" -m book.toc "$ROOT")
pre=$SECONDS
"$BIN/jcache" notebook add --reader myst_nb_md "${chapters[@]}" >/dev/null <<< y  # y: create
"$BIN/jcache" project execute --executor local-parallel --timeout 600 || true
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
