#!/usr/bin/env bash
# Sample data for the demo, tests and benchmarks: pedestrians (vtest.avi, 768x576, 795 frames)
# and stills with people, from Debian's opencv-doc package, pinned by version and SHA-256.
# Only those files are kept, in $POSENET_ROS_HOME/data; the .deb is removed once unpacked.
#
#   tools/fetch_sample_data.sh POSENET_ROS_HOME
set -euo pipefail

home="${1:?usage: $0 POSENET_ROS_HOME}"
package=opencv-doc
version=4.6.0+dfsg-12
sha256=4b12681df35878207ac7097dc66184b2ae552e4bf4ddd2af04a0f03ed0b8682a
files=(vtest.avi messi5.jpg basketball1.png basketball2.png)
downloads="$home/downloads"
data="$home/data"
deb="$downloads/${package}_${version}_all.deb"

mkdir -p "$downloads" "$data"

verified() { [ -f "$deb" ] && echo "$sha256  $deb" | sha256sum --check --status; }

if ! verified; then
  rm -f "$deb"
  echo "fetching $package=$version (96 MB, once) from Debian"
  # apt-get download writes into the current directory. A fresh machine may have no
  # package lists yet: update them once and retry.
  if ! (cd "$downloads" && apt-get download -q "$package=$version"); then
    echo "apt-get download failed; running apt-get update and retrying"
    apt-get update -q
    (cd "$downloads" && apt-get download -q "$package=$version")
  fi
  # apt-get may escape characters of the version in the file name; normalise it.
  for f in "$downloads/${package}_"*_all.deb; do
    [ "$f" = "$deb" ] || mv -f "$f" "$deb"
  done
  if ! verified; then
    echo "error: $deb does not have the pinned SHA-256 $sha256; refusing it" >&2
    rm -f "$deb"
    exit 1
  fi
fi

unpacked="$(mktemp -d "$downloads/unpack.XXXXXX")"
trap 'rm -rf "$unpacked"' EXIT
dpkg-deb -x "$deb" "$unpacked"
for name in "${files[@]}"; do
  src="$unpacked/usr/share/doc/$package/examples/data/$name"
  [ -f "$src" ] || src="$src.gz"   # Debian compresses some docs; these are shipped plain
  case "$src" in
    *.gz) gzip -dc "$src" > "$data/$name.tmp" ;;
    *) cp "$src" "$data/$name.tmp" ;;
  esac
  mv -f "$data/$name.tmp" "$data/$name"
done
rm -f "$deb"
echo "sample data in $data: ${files[*]}"
