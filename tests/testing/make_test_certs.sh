#!/bin/sh
# Makes the certificates the transport-security tests use, with Debian's openssl, in DIR:
#   ca.pem / ca.key            the mesh's root CA
#   other-ca.pem / .key        a CA nobody trusts
#   server.pem / .key          mixs and pilot-discovery: DNS localhost, IP 127.0.0.1
#   <name>.pem / .key          workload certificates with URI SAN
#                              spiffe://cluster.local/ns/<ns>/sa/<sa>, for each NAME=NS/SA argument
#   rogue.pem / .key           spiffe://cluster.local/ns/default/sa/client, signed by other-ca
#   expired.pem / .key         spiffe://cluster.local/ns/default/sa/client, expired in 2020
# Keys are ECDSA P-256. Usage: make_test_certs.sh DIR [NAME=NS/SA ...]
set -eu
dir=$1
shift
mkdir -p "$dir/db"
cd "$dir"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }

root() {  # NAME CN
  key "$1"
  openssl req -x509 -new -key "$1.key" -subj "/O=mesh test/CN=$2" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.pem"
}

cat > db/ca.cnf <<'CNF'
[ ca ]
default_ca = test
[ test ]
database = db/index.txt
serial = db/serial
new_certs_dir = db
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[ any ]
organizationName = optional
commonName = supplied
CNF
: > db/index.txt

# NAME ISSUER SAN [START END]: a leaf for client and server auth.
leaf() {
  key "$1"
  openssl req -new -key "$1.key" -subj "/O=mesh test/CN=$1" -out "db/$1.csr"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=$3" > "db/$1.ext"
  openssl rand -hex 16 > db/serial
  if [ $# -ge 5 ]; then
    dates="-startdate $4 -enddate $5"
  else
    dates="-days 30"
  fi
  # shellcheck disable=SC2086
  openssl ca -batch -notext -config db/ca.cnf -cert "$2.pem" -keyfile "$2.key" \
    -in "db/$1.csr" -extfile "db/$1.ext" $dates -out "$1.pem" 2>/dev/null
}

root ca "mesh test root"
root other-ca "somebody else's root"
leaf server ca "DNS:localhost,IP:127.0.0.1,URI:spiffe://cluster.local/ns/istio-system/sa/mixs"
for spec in "$@"; do
  name=${spec%%=*}
  path=${spec#*=}
  leaf "$name" ca "URI:spiffe://cluster.local/ns/${path%%/*}/sa/${path#*/}"
done
leaf rogue other-ca "URI:spiffe://cluster.local/ns/default/sa/client"
leaf expired ca "URI:spiffe://cluster.local/ns/default/sa/client" 20200101000000Z 20200201000000Z
