#!/usr/bin/env bash
# One-shot, idempotent set-up for a fresh Debian machine (run by `make`):
#   scripts/setup.sh [grade|test|gradescope]      (default: grade)
#
#   grade       what `make grade` (and review, pdf) needs:
#     1. Debian packages: bubblewrap (sandbox), TeX + pandoc + librsvg2-bin (PDFs),
#        libjs-katex (math in `review`).
#     2. The project venv .venv with requirements.txt, and this project installed into it
#        editable (the `hw2` command; pip builds it with the pinned setuptools, offline).
#     3. The sandbox runtime: a separate, minimal venv (numpy + matplotlib only,
#        requirements-sandbox.txt) on Debian's /usr/bin/python3.
#     4. The PDF runtime: the PDF worker's packages (nbconvert, nbformat, pygments, Pillow,
#        requirements-pdf.txt) in another venv on /usr/bin/python3.
#   test        grade, plus chromium and poppler-utils (the browser tests, the README's
#               pictures, PDF checks), requirements-test.txt in .venv, and (as root) the
#               grader runtime: requirements.txt on /usr/bin/python3, which the tests'
#               ordinary user runs the grader with.
#   gradescope  what the Gradescope image needs to grade (no PDFs there: no user namespaces):
#               bubblewrap, .venv with requirements.txt, the sandbox runtime.
#
# The runtimes are keyed by a hash of their requirements file and live where every uid can
# read them, whatever the checkout's parents allow (a sandbox drops to an unprivileged uid,
# and a checkout or a pyenv Python under a mode-700 home is unreachable for it): as root in
# /opt/hw2-autograder, as an ordinary user in ${XDG_DATA_HOME:-~/.local/share}/hw2-autograder
# (the rootless sandbox runs as that user). Nothing a sandbox needs is bound from the checkout.
# Each step is skipped when its stamp matches, so a rerun costs well under a second.
# A missing Debian package that this user cannot install stops the set-up before anything
# is built, with the one apt-get line to run.
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE=${1:-grade}
case $PROFILE in
  grade | test | gradescope) ;;
  *) echo "usage: scripts/setup.sh [grade|test|gradescope]" >&2; exit 2 ;;
esac
PY=${PYTHON:-python3}
VENV=.venv
if [[ $(id -u) == 0 ]]; then RUNTIME_BASE=/opt/hw2-autograder
else RUNTIME_BASE=${XDG_DATA_HOME:-$HOME/.local/share}/hw2-autograder; fi
key() { sha256sum <"$1" | cut -c1-12; }  # a runtime's folder: its requirements' hash
RUNTIME=${HW2_SANDBOX_RUNTIME:-$RUNTIME_BASE/runtime-$(key requirements-sandbox.txt)}
APT_PACKAGES=(bubblewrap util-linux python3 python3-venv)
if [[ $PROFILE != gradescope ]]; then
  APT_PACKAGES+=(texlive-xetex texlive-fonts-recommended texlive-plain-generic pandoc librsvg2-bin)
fi
# Tests only: browsers, PDF checks, and the one-node Slurm cluster of tests/test_cluster.py.
if [[ $PROFILE == test ]]; then
  APT_PACKAGES+=(chromium poppler-utils slurmctld slurmd slurm-client munge)
fi
# npm fetches KaTeX for `review` at set-up (scripts/install_katex.sh); a machine with its
# own Node.js (which carries npm) keeps it rather than taking Debian's.
if [[ $PROFILE != gradescope ]] && ! command -v npm >/dev/null; then APT_PACKAGES+=(npm); fi

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
# pip_stamped STAMP FILES...: pip install -r the first file into .venv unless STAMP holds
# the hash of all FILES (a file named with -r inside it is one of them).
pip_stamped() {
  local stamp=$VENV/$1 want
  shift
  want=$(cat "$@" | sha256sum | cut -c1-64)
  if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    say "installing $1 into $VENV (about a minute)"
    quiet "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$1"
    echo "$want" >"$stamp"
  fi
}
if [[ ! -x $VENV/bin/python ]]; then
  say "creating $VENV"
  "$PY" -m venv "$VENV"
fi
# This stamp is the bare hash of requirements.txt (older set-ups wrote it so).
pip_stamped .requirements.sha256 requirements.txt
if [[ $PROFILE == test ]]; then pip_stamped .requirements-test.sha256 requirements-test.txt requirements.txt; fi
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

# --- 3. The runtimes: venvs on Debian's Python that every uid can read -------------------
# runtime DIR REQUIREMENTS [COMMAND…]: build DIR from REQUIREMENTS (then run COMMAND in it)
# unless its stamp matches. The stamp is written last, so a build cut short is redone.
runtime() {
  local dir=$1 req=$2 stamp want
  shift 2
  stamp=$dir/.requirements.sha256
  want=$(sha256sum "$req" | cut -c1-64)
  [[ -f $stamp && $(cat "$stamp") == "$want" ]] && return 0
  if [[ ! -x /usr/bin/python3 ]]; then
    say "WARNING: /usr/bin/python3 is missing; $dir cannot be built"
    return 0
  fi
  say "building $dir ($req)"
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  /usr/bin/python3 -m venv --without-pip "$dir"
  quiet "$VENV/bin/python" -m pip --python "$dir/bin/python" install -q --disable-pip-version-check \
    -r "$req"
  if (($#)); then "$@"; fi
  # As root: readable and enterable by every uid, writable by none but root (whatever umask).
  if [[ $(id -u) == 0 ]]; then chmod -R a+rX,go-w "$(dirname "$dir")"; fi
  echo "$want" >"$stamp"
}
# matplotlib's font list, built once here instead of in every sandbox.
mpl_fonts() { MPLCONFIGDIR=$RUNTIME/mpl "$RUNTIME/bin/python" -c "import matplotlib.font_manager"; }
runtime "$RUNTIME" requirements-sandbox.txt mpl_fonts
echo "$RUNTIME" >"$VENV/sandbox-runtime"
if [[ $PROFILE != gradescope ]]; then
  PDF_RUNTIME=${HW2_PDF_RUNTIME:-$RUNTIME_BASE/pdf-$(key requirements-pdf.txt)}
  runtime "$PDF_RUNTIME" requirements-pdf.txt
  echo "$PDF_RUNTIME" >"$VENV/pdf-runtime"
  # KaTeX for `review` (Debian's libjs-katex 0.16.4 has CVE-2024-28243)
  bash scripts/install_katex.sh "$RUNTIME_BASE"
fi
# The tests' ordinary user (tests/levels.py) runs the grader from a copy of the checkout with
# this Python: root's .venv may be under a folder that user cannot enter.
if [[ $PROFILE == test && $(id -u) == 0 ]]; then
  GRADER_RUNTIME=$RUNTIME_BASE/grader-$(key requirements.txt)
  runtime "$GRADER_RUNTIME" requirements.txt
  echo "$GRADER_RUNTIME" >"$VENV/grader-runtime"
fi
