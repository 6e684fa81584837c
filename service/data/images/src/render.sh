#!/usr/bin/env bash
# Rasterise the SVG sources in this folder into ../ (600x600 PNG, one JPEG).
# Needs: chromium (headless), ImageMagick 6 `convert`, pngquant, optipng.
#   python3 gen_svgs.py   # only if you changed the drawings
#   ./render.sh
set -euo pipefail
cd "$(dirname "$0")"
OUT=..
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
CONVERT=${CONVERT:-/usr/bin/convert}
for svg in *.svg; do
  name=${svg%.svg}
  # An HTML wrapper pins the page to exactly 600x600 with no margin.
  cat >"$TMP/$name.html" <<HTML
<!doctype html><html><head><style>html,body{margin:0;padding:0;overflow:hidden}img{display:block}</style></head>
<body><img src="file://$PWD/$svg" width="600" height="600"></body></html>
HTML
  "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
    --window-size=600,600 --screenshot="$TMP/$name.png" "file://$TMP/$name.html" >/dev/null 2>&1
  case "$name" in
    nuc-board)
      "$CONVERT" "$TMP/$name.png" -strip -sampling-factor 4:2:0 -quality 85 "$OUT/$name.jpg" ;;
    *)
      pngquant --force --quality=70-95 --speed 1 --output "$OUT/$name.png" "$TMP/$name.png"
      optipng -quiet -o2 -strip all "$OUT/$name.png" ;;
  esac
  echo "$name: $(stat -c %s "$OUT/$name".* | head -1) bytes"
done
