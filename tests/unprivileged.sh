#!/usr/bin/env bash
# Run the rootless part of the suite (the fake network) as an unprivileged
# user, to prove it needs no root: as nobody when we are root, else as we are.
# The checkout or the venv may sit where nobody cannot read (a clone under
# /root, mode 0700): then what the run needs is copied to a temporary
# directory first.  Usage: tests/unprivileged.sh VENV_PYTHON TEST_PATH...
set -euo pipefail
venv_py=$1; shift
if ! command -v setpriv >/dev/null 2>&1; then
  echo "test-unprivileged: SKIPPED: setpriv (util-linux) is not installed"; exit 0
fi
as=(); who="uid $(id -u)"
if [ "$(id -u)" = 0 ]; then
  as=(setpriv --reuid=65534 --regid=65534 --clear-groups); who="nobody (uid 65534)"
fi
tmp=$(mktemp -d); chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
mkdir -m 1777 "$tmp/home"
src=$(pwd)
site=$("$venv_py" -c 'import site; print(site.getsitepackages()[0])')
if ! "${as[@]}" test -r "$src/pyproject.toml" -a -x "$src/tests"; then
  echo "test-unprivileged: $who cannot read $src: copying the tree to $tmp/tree"
  mkdir "$tmp/tree"
  cp -r "$src"/{pyproject.toml,protocol,warts,scamperd,tests} "$tmp/tree/"
  chmod -R a+rX "$tmp/tree"
  src=$tmp/tree
fi
if ! "${as[@]}" test -r "$site/trio/__init__.py"; then
  echo "test-unprivileged: $who cannot read $site: copying it to $tmp/site"
  cp -r "$site" "$tmp/site"; chmod -R a+rX "$tmp/site"; site=$tmp/site
fi
py=""
for c in "$venv_py" /usr/bin/python3; do
  if "${as[@]}" env "$c" -c 'import json' 2>/dev/null; then py=$c; break; fi
done
if [ -z "$py" ]; then echo "test-unprivileged: no python that $who can run"; exit 1; fi
echo "test-unprivileged: as $who, $py: $*"
cd "$src"
"${as[@]}" env HOME="$tmp/home" PYTHONPATH="$src:$site" PYTHONDONTWRITEBYTECODE=1 \
  "$py" -m pytest -q -p no:cacheprovider --basetemp="$tmp/home/pytest" "$@"
