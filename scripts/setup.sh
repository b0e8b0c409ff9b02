#!/usr/bin/env bash
# One-shot, idempotent set-up for a fresh Debian machine (run by `make`):
#   1. Debian packages: bubblewrap (sandbox), TeX + pandoc (PDFs), poppler-utils (PDF checks),
#      libjs-katex (math in `review`), chromium (the browser tests of `review`).
#   2. The project venv .venv with requirements.txt, and this project installed into it
#      editable (the `hw2` command; pip builds it with the pinned setuptools, offline).
#   3. The sandbox runtime: a separate, minimal venv (numpy + matplotlib only) built on
#      Debian's /usr/bin/python3. As root it goes in /opt/hw2-autograder, a folder every uid
#      can read (the sandbox drops to an unprivileged uid, and a pyenv Python under a
#      mode-700 home is unreachable for it); as an ordinary user, in
#      ${XDG_DATA_HOME:-~/.local/share}/hw2-autograder (the rootless sandbox runs as that user).
# Each step is skipped when its stamp matches, so a rerun costs well under a second.
# A missing Debian package that this user cannot install stops the set-up before anything
# is built, with the one apt-get line to run.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=.venv
if [[ $(id -u) == 0 ]]; then RUNTIME_BASE=/opt/hw2-autograder
else RUNTIME_BASE=${XDG_DATA_HOME:-$HOME/.local/share}/hw2-autograder; fi
RUNTIME=${HW2_SANDBOX_RUNTIME:-$RUNTIME_BASE/runtime-$(cat requirements-sandbox.txt | sha256sum | cut -c1-12)}
APT_PACKAGES=(bubblewrap util-linux python3 python3-venv texlive-xetex texlive-fonts-recommended texlive-plain-generic pandoc poppler-utils libjs-katex chromium librsvg2-bin)
# issue 22, tests only: the one-node Slurm cluster of tests/test_cluster.py
APT_PACKAGES+=(slurmctld slurmd slurm-client munge)

say() { printf 'setup: %s\n' "$*" >&2; }
# pip prints a warning for every index path this machine's pip.conf names but lacks;
# show pip's output only when it fails, or with those warnings filtered.
quiet() {
  local log rc=0
  log=$(mktemp)
  "$@" >"$log" 2>&1 || rc=$?
  if ((rc)); then cat "$log" >&2; else grep -v 'is ignored: it is neither' "$log" >&2 || true; fi
  rm -f "$log"
  return "$rc"
}

# --- 1. Debian packages -----------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    say "installing Debian packages: ${missing[*]} (about a minute)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    say "missing Debian packages: ${missing[*]}. Install them (as root), then rerun:"
    printf '%sapt-get install --no-install-recommends %s\n' "$([[ $(id -u) == 0 ]] || echo 'sudo ')" "${missing[*]}" >&2
    exit 1
  fi
fi

# --- 2. Project venv ----------------------------------------------------------------
stamp=$VENV/.requirements.sha256
want=$(sha256sum requirements.txt | cut -c1-64)
if [[ ! -x $VENV/bin/python || ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  say "creating $VENV (about a minute)"
  [[ -x $VENV/bin/python ]] || "$PY" -m venv "$VENV"
  quiet "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements.txt
  echo "$want" >"$stamp"
fi
# The project itself: its stamp is pyproject.toml (the console script, the package data) and
# this checkout's path (an editable install points at one checkout). A .venv that is a link
# belongs to another checkout (a git worktree, the Gradescope test's copy): its hw2 stays
# where it points; `python -m autograder` runs this checkout's code all the same.
pstamp=$VENV/.project.sha256
pwant=$( (cat pyproject.toml; pwd -P) | sha256sum | cut -c1-64)
if [[ -L $VENV ]]; then
  say "$VENV is a link to another checkout's venv: not installing this checkout into it"
elif [[ ! -f $pstamp || $(cat "$pstamp") != "$pwant" ]]; then
  say "installing the project into $VENV (editable; the hw2 command)"
  quiet "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps \
    --no-build-isolation -e .
  echo "$pwant" >"$pstamp"
fi

# --- 3. Sandbox runtime -------------------------------------------------------------
rstamp=$RUNTIME/.requirements.sha256
rwant=$(sha256sum requirements-sandbox.txt | cut -c1-64)
if [[ ! -f $rstamp || $(cat "$rstamp") != "$rwant" ]]; then
  if [[ ! -x /usr/bin/python3 ]]; then
    say "WARNING: /usr/bin/python3 is missing; the sandbox runtime cannot be built"
  else
    say "building the sandbox runtime in $RUNTIME"
    # The stamp is written last, so a build cut short is redone on the next run.
    rm -rf "$RUNTIME"
    mkdir -p "$(dirname "$RUNTIME")"
    /usr/bin/python3 -m venv --without-pip "$RUNTIME"
    quiet "$VENV/bin/python" -m pip --python "$RUNTIME/bin/python" install -q --disable-pip-version-check \
      -r requirements-sandbox.txt
    # matplotlib's font list, built once here instead of in every sandbox.
    MPLCONFIGDIR=$RUNTIME/mpl "$RUNTIME/bin/python" -c "import matplotlib.font_manager"
    if [[ $(id -u) == 0 ]]; then chmod -R a+rX,go-w "$(dirname "$RUNTIME")"; fi
    echo "$rwant" >"$rstamp"
  fi
fi
echo "$RUNTIME" >"$VENV/sandbox-runtime"
