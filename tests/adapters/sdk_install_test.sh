#!/usr/bin/env bash
# Installs the adapter SDK into a temporary prefix, builds docs/examples/adapter-hello against that
# prefix alone (from a copy outside the source tree), then loads the result the way mixs does and
# exercises it.  usage: sdk_install_test.sh <build dir> <source dir> <adapter_probe>
set -euo pipefail
build=$1 src=$2 probe=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --component sdk --prefix "$work/prefix" >"$work/install.log"
# Every header of the SDK (adapter.h includes the others), not only the ones the example uses.
headers=$(cd "$src/adapters/sdk/include" && find mixer -name '*.h' | sort)
[[ "$headers" == *mixer/adapter_sdk/adapter.h* ]] || fail "no SDK headers found in $src"
for f in $headers; do
  [[ -f "$work/prefix/include/$f" ]] || fail "include/$f was not installed"
done
# The base library's header-only pieces, which the SDK's headers include (base/README.md).
for f in go_duration.h grpc_codes.h json_string.h rfc3339_format.h utf8.h; do
  [[ -f "$work/prefix/include/mixer/base/$f" ]] || fail "include/mixer/base/$f was not installed"
done
config=$(find "$work/prefix" -name MixerAdapterSDKConfig.cmake)
[[ -n "$config" ]] || fail "MixerAdapterSDKConfig.cmake was not installed"

cp -r "$src/docs/examples/adapter-hello" "$work/hello-src"
cmake -S "$work/hello-src" -B "$work/hello-build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >"$work/configure.log" \
  || { cat "$work/configure.log"; fail "configuring the example against the installed SDK"; }
cmake --build "$work/hello-build" >"$work/build.log" \
  || { cat "$work/build.log"; fail "building the example"; }
if grep -q -e "$src/adapters" -e "$src/base" "$work/hello-build/compile_commands.json"; then
  fail "the example compiled against the source tree, not the installed SDK"
fi
[[ -f "$work/hello-build/hello.so" ]] || fail "hello.so was not built"
exported=$(nm -D --defined-only "$work/hello-build/hello.so" | awk '{print $3}')
[[ "$exported" == "mixer_adapter_entry" ]] || fail "hello.so exports more than the entry: $exported"

"$probe" --adapter-dir "$work/hello-build" --list >"$work/list.out" 2>"$work/list.err"
grep -Eq '^hello +1\.0\.0 +1\.[0-9]+ +check,report +listentry,reportnothing' "$work/list.out" \
  || { cat "$work/list.out" "$work/list.err"; fail "hello is not listed"; }
grep -q "loaded 1 adapter: hello 1.0.0" "$work/list.err" || fail "no load summary"

out=$("$probe" --adapter-dir "$work/hello-build" --adapter hello \
  --params "$work/hello-src/handler.yaml" --field value=mallory --check --template listentry)
[[ "$out" == 'check: PERMISSION_DENIED "no entry for mallory" valid_duration=10s valid_use_count=100' ]] \
  || fail "unexpected denial: $out"
out=$("$probe" --adapter-dir "$work/hello-build" --adapter hello \
  --params "$work/hello-src/handler.yaml" --field value=alice --check --template listentry)
[[ "$out" == 'check: OK "" valid_duration=10s valid_use_count=100' ]] || fail "unexpected allow: $out"
out=$("$probe" --adapter-dir "$work/hello-build" --adapter hello \
  --params "$work/hello-src/handler.yaml" --template reportnothing --report)
[[ "$out" == 'report: OK' ]] || fail "unexpected report: $out"

# Loaded into a running mixs with a rule that uses it, and exercised with mixc.
mkdir -p "$work/config"
cat >"$work/config/hello.yaml" <<'YAML'
apiVersion: config.istio.io/v1alpha2
kind: handler
metadata: {name: greeter, namespace: istio-system}
spec:
  compiledAdapter: hello
  params:
    greeting: Hello
    deny: [mallory, trudy]
    valid_duration: 10s
---
apiVersion: config.istio.io/v1alpha2
kind: instance
metadata: {name: caller, namespace: istio-system}
spec:
  compiledTemplate: listentry
  params:
    value: request.auth.principal | ""
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: greet, namespace: istio-system}
spec:
  actions:
  - handler: greeter.handler
    instances: [caller.instance]
YAML
"$build/bin/mixs" server --address 127.0.0.1:0 --monitoring-port -1 \
  --adapter-dir "$work/hello-build" --adapter-dir "$build/adapters" \
  --config-dir "$work/config" >"$work/mixs.out" 2>&1 &
mixs_pid=$!
trap 'kill $mixs_pid 2>/dev/null || true' EXIT
address=""
for _ in $(seq 200); do
  address=$(grep -o '127\.0\.0\.1:[0-9]*' "$work/mixs.out" | head -1 || true)
  [ -n "$address" ] && break
  sleep 0.05
done
[ -n "$address" ] || fail "mixs did not start with the hello adapter: $(cat "$work/mixs.out")"
grep -q "hello 1.0.0" "$work/mixs.out" || fail "mixs did not report loading hello: $(cat "$work/mixs.out")"
out=$("$build/bin/mixc" check -m "$address" -s request.auth.principal=mallory)
grep -q "Check status was PERMISSION_DENIED (greeter.handler.istio-system:no entry for mallory)" \
  <<<"$out" || fail "mixs + hello did not deny mallory: $out"
out=$("$build/bin/mixc" check -m "$address" -s request.auth.principal=alice)
grep -q "Check status was OK" <<<"$out" || fail "mixs + hello did not allow alice: $out"
grep -q "valid duration: 10s" <<<"$out" || fail "hello's valid duration not used: $out"
kill "$mixs_pid"
wait "$mixs_pid" 2>/dev/null || true
trap - EXIT

# Invalid params are rejected with their paths.
printf 'deny: [1]\n' >"$work/bad.yaml"
if "$probe" --adapter-dir "$work/hello-build" --adapter hello --params "$work/bad.yaml" \
  --check 2>"$work/bad.err"; then
  fail "bad params were accepted"
fi
grep -q "params.greeting: required" "$work/bad.err" || fail "no greeting error: $(cat "$work/bad.err")"
grep -q "params.deny\[0\]: expected a string" "$work/bad.err" || fail "no deny[0] error"
# The installed in-tree adapters are found next to an installed binary, wherever the prefix is.
cmake --install "$build" --component adapters --prefix "$work/relocated" >>"$work/install.log"
mkdir -p "$work/relocated/bin"
cp "$probe" "$work/relocated/bin/"
env -u MIXER_ADAPTER_DIR "$work/relocated/bin/$(basename "$probe")" --list >"$work/relocated.out" \
  2>"$work/relocated.err"
grep -q "($work/relocated/lib.*/mixer/adapters/denier.so)" "$work/relocated.out" \
  || { cat "$work/relocated.out" "$work/relocated.err"; fail "relocated install: no denier"; }
echo "PASS"
