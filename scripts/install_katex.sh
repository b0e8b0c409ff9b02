#!/usr/bin/env bash
# scripts/install_katex.sh BASE: KaTeX for `review`, into BASE/katex-<version> (set-up only).
# The version and the tarball's SHA-256 are pinned in autograder/review/katex.env; npm
# fetches the tarball from the npm registry, and only its dist/ (the JS, CSS and fonts the
# page loads) is kept, readable by every uid. Skipped when that folder is complete.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${1:?usage: scripts/install_katex.sh BASE}
# shellcheck source=../autograder/review/katex.env
source autograder/review/katex.env
DEST=$BASE/katex-$KATEX_VERSION
[[ -f $DEST/katex.min.js && -f $DEST/katex.min.css ]] && exit 0
if ! command -v npm >/dev/null; then
  # Not fatal: grading needs no KaTeX, and review then shows math as TeX (and says so).
  echo "setup: WARNING: npm is missing (Debian package npm), so KaTeX $KATEX_VERSION for" \
    "review is not installed: review shows math as TeX" >&2
  exit 0
fi
echo "setup: installing KaTeX $KATEX_VERSION for review into $DEST (npm registry)" >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "katex@$KATEX_VERSION" >/dev/null)
echo "$KATEX_SHA256  $tmp/katex-$KATEX_VERSION.tgz" | sha256sum --check --quiet
tar -xzf "$tmp/katex-$KATEX_VERSION.tgz" -C "$tmp"
mkdir -p "$BASE"
rm -rf "$DEST.partial"
cp -R "$tmp/package/dist" "$DEST.partial"
chmod -R a+rX,go-w "$DEST.partial"
mv -T "$DEST.partial" "$DEST"  # whole or not at all
