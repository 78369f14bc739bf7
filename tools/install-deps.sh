#!/usr/bin/env bash
# Install the Debian packages Tessera builds and tests with. Idempotent: it
# only calls apt-get when something is missing.
set -euo pipefail

packages=(
  gcc pkg-config meson ninja-build
  libuv1-dev libjansson-dev libjwt-dev libssl-dev
  protobuf-c-compiler libprotobuf-c-dev libsqlite3-dev libsystemd-dev
  libcriterion-dev
  systemd        # systemd-analyze, for the unit file checks
  procps         # ps/pkill used by tests
  openssl        # the command line, as an independent verifier in tests
  python3        # test helpers and the result summary
  passwd         # useradd, for the two-user tenancy test
  clang libclang-rt-14-dev   # libFuzzer, for the fuzz targets
  runc           # a real container for the OCI hook test (skipped where it cannot run)
  valgrind       # memcheck over the end-to-end suites
  libp11-kit-dev # the PKCS#11 header (pkcs11.h) for the PKCS#11 provider
  softhsm2       # a real PKCS#11 token for the PKCS#11 provider's tests
  opensc         # pkcs11-tool, an independent client of the same token in tests
  libtss2-dev    # tss2-esys/tctildr for the TPM provider
  swtpm swtpm-tools  # a software TPM for the TPM provider's tests
  groff-base     # groff/man, to check the man pages for warnings
  man-db         # man --warnings, the same check as users' man reads them
  debhelper      # dh and dh_installsystemd, to build the Debian packages
  dpkg-dev       # dpkg-buildpackage, dpkg-deb
  fakeroot       # dpkg-buildpackage's root for the binary packages
  lintian        # the Debian packages' policy check
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
