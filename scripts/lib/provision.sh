# Sourced by the provisioning steps (scripts/install-*.sh, scripts/build-*.sh): Debian packages and the build cache.
# Each step is idempotent and costs a few dpkg queries when what it provides is already there.

# Where built helpers live: outside the clone's tracked files, so they survive `git clean` and serve every clone.
cache_dir() {
  echo "${FBREPLAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fbreplay}"
}

# need_debs [--recommends] PKG...: installs the packages not installed yet, from the mirror apt is set up for.
# `apt-get update` runs only when an install fails (no package lists yet, or stale ones). Not root: one line, exit 1.
need_debs() {
  local recommends=--no-install-recommends
  if [ "${1:-}" = --recommends ]; then recommends=""; shift; fi
  local missing=() p
  for p in "$@"; do
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "not root, cannot install Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "installing ${missing[*]} (Debian packages)" >&2
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  if ! apt-get install -y -qq $recommends "${missing[@]}" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || true
    # shellcheck disable=SC2086
    apt-get install -y -qq $recommends "${missing[@]}" >/dev/null 2>"${TMPDIR:-/tmp}/fbreplay-apt.err" || {
      echo "apt-get cannot install ${missing[*]}: $(tail -1 "${TMPDIR:-/tmp}/fbreplay-apt.err")" >&2
      exit 1
    }
  fi
}

# need_root WHAT: one line and exit 1 unless root.
need_root() {
  if [ "$(id -u)" -ne 0 ]; then echo "not root: $1 needs root (run npm test as root)" >&2; exit 1; fi
}
