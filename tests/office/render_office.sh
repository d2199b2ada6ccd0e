#!/usr/bin/env bash
# Renders migfit's Word and Excel tables to PDF with LibreOffice (headless) and to PNG with
# pdftoppm, so a person (or an image viewer) can see that they open and that Chinese labels
# print in a CJK font. Usage:
#   tests/office/render_office.sh OUTDIR FILE.docx FILE.xlsx ...
# Needs soffice (Debian: libreoffice-writer-nogui, libreoffice-calc-nogui) and pdftoppm
# (poppler-utils); exits 77 (skipped) with a message when either is missing.
set -euo pipefail
out=${1:?usage: render_office.sh OUTDIR FILE...}
shift
if ! command -v soffice >/dev/null || ! command -v pdftoppm >/dev/null; then
    echo "render_office: skipped: needs soffice and pdftoppm (apt-get install libreoffice-writer-nogui libreoffice-calc-nogui poppler-utils)"
    exit 77
fi
mkdir -p "$out"
# A private LibreOffice profile: no clash with a running instance, nothing left in $HOME.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
for f in "$@"; do
    # One folder per extension: t.docx and t.xlsx both convert to t.pdf.
    dir="$out/${f##*.}"
    mkdir -p "$dir"
    soffice -env:UserInstallation=file://"$profile" --headless --convert-to pdf --outdir "$dir" "$f" >/dev/null 2>&1
    pdf="$dir/$(basename "${f%.*}").pdf"
    [ -s "$pdf" ] || { echo "render_office: LibreOffice did not convert $f"; exit 1; }
    pdftoppm -png -r 90 -f 1 -l 1 "$pdf" "${pdf%.pdf}"
    echo "render_office: $f -> $pdf -> $(ls "${pdf%.pdf}"*.png | head -1)"
done
