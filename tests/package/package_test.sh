#!/usr/bin/env bash
# The Debian package, end to end on this machine: builds it with CPack, installs it with dpkg -i,
# runs the installed mixs (its systemd unit's command line, on the installed configuration and the
# installed adapters) and checks it with the installed mixc, validates pilot-discovery's installed
# configuration and the units, builds docs/examples/adapter-hello against the installed SDK alone,
# then removes and purges the package and checks that nothing of it is left.
#
# It changes the machine (dpkg), so it runs only as root, skips (exit 77) otherwise or when the
# package is already installed, and purges the package in an EXIT trap when it fails midway.
# usage: package_test.sh <build dir> <source dir>
set -euo pipefail
build=$1 src=$2
PKG=mixer-engine
SKIP=77

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: installs a Debian package with dpkg -i; needs root (this is uid $(id -u))"
  exit $SKIP
fi
if ! command -v dpkg >/dev/null || ! command -v cpack >/dev/null; then
  echo "SKIP: needs dpkg and cpack"
  exit $SKIP
fi
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q "installed"; then
  echo "SKIP: $PKG is already installed on this machine; the test does not touch it"
  exit $SKIP
fi

work=$(mktemp -d)
installed=0
mixs_pid=""
cleanup() {
  if [ -n "$mixs_pid" ]; then
    kill "$mixs_pid" 2>/dev/null || true
    wait "$mixs_pid" 2>/dev/null || true
  fi
  if [ "$installed" = 1 ]; then
    dpkg --purge "$PKG" >/dev/null 2>&1 || echo "cleanup: dpkg --purge $PKG failed" >&2
  fi
  rm -rf "$work"
}
trap cleanup EXIT
# A command that fails outside a `|| fail` says where.
trap 'echo "FAIL: line $LINENO: $BASH_COMMAND exited $?" >&2' ERR

fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. Build the package from this build tree.
cpack --config "$build/CPackConfig.cmake" -B "$work/pkg" >"$work/cpack.log" 2>&1 \
  || { cat "$work/cpack.log"; fail "cpack"; }
deb=$(find "$work/pkg" -maxdepth 1 -name "${PKG}_*.deb" | head -1)
[ -n "$deb" ] || { cat "$work/cpack.log"; fail "no ${PKG}_*.deb"; }
echo "built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB)"
dpkg-deb --info "$deb" >"$work/info"
grep -q "^ Depends: .*libgrpc" "$work/info" || fail "no shared-library dependencies: $(cat "$work/info")"
dpkg-deb --contents "$deb" >"$work/contents"

# 2. Install it.
installed=1
dpkg -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i"; }
for f in /usr/bin/mixs /usr/bin/mixc /usr/bin/pilot-discovery /usr/bin/pilot-agent /usr/bin/meshctl \
  /usr/lib/mixer/adapters/redisquota.so /usr/lib/mixer/adapters/memquota.so \
  /usr/lib/mixer/adapters/listchecker.so /usr/lib/mixer/adapters/stdio.so \
  /usr/lib/mixer/adapters/prometheus.so /usr/lib/mixer/adapters/denier.so \
  /usr/lib/mixer/adapters/zipkin.so \
  /usr/include/mixer/adapter_sdk/mixer_adapter.h /usr/include/mixer/adapter_sdk/adapter.h \
  /usr/lib/cmake/MixerAdapterSDK/MixerAdapterSDKConfig.cmake \
  /etc/mixer/config/access-log.yaml /etc/mixer/config/denylist.yaml \
  /etc/mixer/config/quota.yaml /etc/default/mixs /etc/default/pilot-discovery \
  /etc/pilot/config/reviews.yaml /etc/pilot/registry/reviews.yaml \
  /lib/systemd/system/mixs.service /lib/systemd/system/pilot-discovery.service \
  /usr/share/doc/$PKG/operations.md; do
  [ -e "$f" ] || fail "$f was not installed"
done
dpkg-query --showformat='${Conffiles}\n' --show "$PKG" >"$work/conffiles"
for f in /etc/mixer/config/quota.yaml /etc/default/mixs; do
  grep -q " $f " "$work/conffiles" || fail "$f is not a conffile: $(cat "$work/conffiles")"
done

# 3. The installed mixs finds the installed adapters by default.
env -u MIXER_ADAPTER_DIR /usr/bin/mixs adapters >"$work/adapters.out" 2>&1 \
  || { cat "$work/adapters.out"; fail "mixs adapters"; }
for a in redisquota memquota listchecker stdio prometheus denier zipkin; do
  grep -q "/usr/lib/mixer/adapters/$a.so" "$work/adapters.out" \
    || fail "the installed mixs did not find $a: $(cat "$work/adapters.out")"
done
env -u MIXER_ADAPTER_DIR /usr/bin/mixs validate /etc/mixer/config >"$work/validate.out" 2>&1 \
  || { cat "$work/validate.out"; fail "the installed configuration does not validate"; }

# 4. The unit's command line, as systemd runs it (its $MIXS_ARGS from /etc/default/mixs, plus
#    ephemeral ports so that the test does not take 9091/9093 from anyone).
exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/mixs.service)
[[ "$exec_start" == "/usr/bin/mixs server --config-dir /etc/mixer/config \$MIXS_ARGS" ]] \
  || fail "unexpected ExecStart: $exec_start"
# shellcheck disable=SC1091
MIXS_ARGS=$(. /etc/default/mixs && echo "$MIXS_ARGS")
: >"$work/mixs.out"  # exists before the background shell opens it
# shellcheck disable=SC2086
env -u MIXER_ADAPTER_DIR ${exec_start%\$MIXS_ARGS} $MIXS_ARGS --address 127.0.0.1:0 \
  --monitoring-port 0 >"$work/mixs.out" 2>&1 &
mixs_pid=$!
address=""
for _ in $(seq 400); do
  address=$(sed -n 's/^mixs .*: serving istio.mixer.v1 .* on \(127\.0\.0\.1:[0-9]*\)$/\1/p' \
    "$work/mixs.out" | head -1 || true)
  [ -n "$address" ] && break
  kill -0 "$mixs_pid" 2>/dev/null || break
  sleep 0.05
done
[ -n "$address" ] || fail "the installed mixs did not start: $(cat "$work/mixs.out")"
out=$(/usr/bin/mixc check -m "$address" -s request.auth.principal=alice -q requestcount=1 2>&1) \
  || fail "mixc check: $out; mixs: $(cat "$work/mixs.out")"
grep -q "Check status was OK" <<<"$out" || fail "alice was not allowed: $out"
grep -q "Quota 'requestcount': granted 1," <<<"$out" || fail "no quota granted: $out"
out=$(/usr/bin/mixc check -m "$address" -s request.auth.principal=blocked-client 2>&1) \
  || fail "mixc check: $out"
grep -q "PERMISSION_DENIED" <<<"$out" || fail "the installed denylist did not deny: $out"
grep -q "blocked-client is blacklisted" <<<"$out" || fail "unexpected denial: $out"
kill "$mixs_pid" || fail "mixs exited on its own: $(cat "$work/mixs.out")"
wait "$mixs_pid" 2>/dev/null || true
mixs_pid=""

# 5. pilot-discovery's installed configuration, and the units as systemd reads them.
/usr/bin/pilot-discovery --validate --config-dir /etc/pilot/config \
  --registry-dir /etc/pilot/registry >"$work/pilot.out" 2>&1 \
  || { cat "$work/pilot.out"; fail "pilot-discovery --validate on the installed configuration"; }
for unit in mixs pilot-discovery; do
  f=/lib/systemd/system/$unit.service
  for directive in DynamicUser=yes ProtectSystem=strict NoNewPrivileges=yes \
    RuntimeDirectory=$unit; do
    grep -qx "$directive" "$f" || fail "$unit.service lacks $directive"
  done
  if command -v systemd-analyze >/dev/null; then
    # It exits 0 on an unknown or misspelt directive, only printing it: any line about the unit
    # fails the test.
    systemd-analyze verify "$f" >"$work/verify.out" 2>&1 \
      || { cat "$work/verify.out"; fail "systemd-analyze verify $unit.service"; }
    if grep -q "$unit.service" "$work/verify.out"; then
      cat "$work/verify.out"
      fail "systemd-analyze verify complains about $unit.service"
    fi
  fi
done

# 6. The example adapter, built against the installed SDK alone (no prefix given: CMake finds
#    /usr/lib/cmake/MixerAdapterSDK), then loaded by the installed mixs.
cp -r "$src/docs/examples/adapter-hello" "$work/hello-src"
env -u CMAKE_PREFIX_PATH cmake -S "$work/hello-src" -B "$work/hello-build" -G Ninja \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
  >"$work/hello-configure.log" 2>&1 \
  || { cat "$work/hello-configure.log"; fail "configuring adapter-hello against the installed SDK"; }
grep -q "/usr/lib/cmake/MixerAdapterSDK" "$work/hello-build/CMakeCache.txt" \
  || fail "adapter-hello did not use the installed SDK"
cmake --build "$work/hello-build" >"$work/hello-build.log" 2>&1 \
  || { cat "$work/hello-build.log"; fail "building adapter-hello"; }
if grep -q "$src" "$work/hello-build/compile_commands.json"; then
  fail "adapter-hello compiled against the source tree, not the installed SDK"
fi
/usr/bin/mixs adapters --adapter-dir "$work/hello-build" >"$work/hello.out" 2>&1 \
  || { cat "$work/hello.out"; fail "the installed mixs cannot load hello.so"; }
grep -Eq '^hello +1\.0\.0' "$work/hello.out" || fail "hello is not listed: $(cat "$work/hello.out")"

# 7. Remove, then purge: every file of the package is gone, the conffiles only after the purge.
dpkg-query -L "$PKG" >"$work/files"
dpkg -r "$PKG" >"$work/remove.log" 2>&1 || { cat "$work/remove.log"; fail "dpkg -r"; }
[ ! -e /usr/bin/mixs ] || fail "dpkg -r left /usr/bin/mixs"
[ -e /etc/mixer/config/quota.yaml ] || fail "dpkg -r removed a conffile (only a purge should)"
dpkg --purge "$PKG" >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg --purge"; }
installed=0
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q "installed"; then
  fail "$PKG is still known to dpkg after the purge"
fi
while read -r f; do
  if [ -f "$f" ]; then fail "the purge left $f"; fi
done <"$work/files"
for d in /etc/mixer /etc/pilot /usr/lib/mixer /usr/include/mixer /usr/lib/cmake/MixerAdapterSDK \
  /usr/share/doc/$PKG; do
  [ ! -e "$d" ] || fail "the purge left $d"
done
echo "PASS"
