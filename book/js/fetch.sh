#!/usr/bin/env bash
# Vendor the book's browser-side JavaScript from the npm registry, so the built pages work offline.
#
# 1. @jupyter-widgets/html-manager: its `embed.js` reads the widget state the notebooks stored when they
#    were executed and draws the widgets (running their jslinks) without a kernel. `embed.js`, unlike
#    `embed-amd.js`, bundles the built-in ipywidgets 8 controls and needs neither RequireJS nor a CDN.
# 2. MathJax 3: Jupyter Book 1 loads it from a CDN by default; a local copy keeps math rendering offline.
#
# Only the package tarballs are fetched (`npm pack`, no dependency tree); each is checked against the
# integrity pinned below. Output: book/js/extra/{widget-js,mathjax}/, served at <site>/widget-js/ and
# <site>/mathjax/ through `html_extra_path` in _config.yml — never under _static/, whose .js files
# Jupyter Book adds to every page.
# Usage: bash book/js/fetch.sh        (needs node + npm; run before `jupyter-book build .`)
set -euo pipefail

HTML_MANAGER="@jupyter-widgets/html-manager@1.0.15"   # ipywidgets 8.1 embeds html-manager ^1.0.1
HTML_MANAGER_INTEGRITY="sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA=="
MATHJAX="mathjax@3.2.2"                                # what Jupyter Book 1 loads from the CDN (mathjax@3)
MATHJAX_INTEGRITY="sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="

here="$(cd "$(dirname "$0")" && pwd)"
extra="$here/extra"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# fetch SPEC INTEGRITY DIR: download the tarball of SPEC, verify it, unpack it into DIR/package/
fetch() {
    mkdir -p "$3"
    local tarball
    tarball="$3/$(cd "$3" && npm pack --silent "$1" | tail -n 1)"
    local actual
    actual="sha512-$(node -e 'const fs = require("fs"), crypto = require("crypto");
process.stdout.write(crypto.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"))' "$tarball")"
    if [ "$actual" != "$2" ]; then
        echo "fetch.sh: integrity mismatch for $1: got $actual" >&2
        exit 1
    fi
    tar -xzf "$tarball" -C "$3"
}

fetch "$HTML_MANAGER" "$HTML_MANAGER_INTEGRITY" "$tmp/html-manager"
fetch "$MATHJAX" "$MATHJAX_INTEGRITY" "$tmp/mathjax"

rm -rf "$extra"
mkdir -p "$extra/widget-js"
dist="$tmp/html-manager/package/dist"
# embed.js loads Font Awesome (the Play button's icons) from its own folder; browsers use woff2/woff.
cp "$dist/embed.js" "$dist/embed.js.LICENSE.txt" "$dist"/*.woff2 "$dist"/*.woff "$extra/widget-js/"
echo "$HTML_MANAGER" > "$extra/widget-js/VERSION.txt"
cp "$here/widget-compat.js" "$extra/widget-js/"      # ours: glue between embed.js and the book theme
# MathJax loads fonts and TeX extensions on demand relative to its own URL: keep the whole es5 tree.
cp -r "$tmp/mathjax/package/es5" "$extra/mathjax"
cp "$tmp/mathjax/package/LICENSE" "$extra/mathjax/"
echo "$MATHJAX" > "$extra/mathjax/VERSION.txt"
echo "fetch.sh: $(du -sh "$extra" | cut -f1) of JavaScript in $extra"
