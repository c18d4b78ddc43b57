#!/bin/sh
# Configures a copy of Debian's nginx-dev tree (/usr/share/nginx/src) with the flags Debian's
# nginx was built with, so that a module built against it carries the same module signature.
# Usage: configure_nginx_tree.sh <nginx-dev dir> <output dir>
set -eu
src="$1"
out="$2"
rm -rf "$out"
cp -r "$src" "$out"
cd "$out"
# conf_flags defines the bash array NGX_CONF_FLAGS; read the words without bash.
flags=$(sed -n 's/^NGX_CONF_FLAGS=( *\(.*\) *)$/\1/p' conf_flags)
# shellcheck disable=SC2086
./configure $flags > configure.log 2>&1 || { cat configure.log; exit 1; }
