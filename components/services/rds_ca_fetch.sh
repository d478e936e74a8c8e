#!/usr/bin/env bash
# Print the Amazon RDS CA bundle of one region (PEM) on stdout, or fail non-zero with the reason on stderr.
#
# Run by `pulumi up` on the deploying machine (pulumi-command local.Command, components/services/db_tls.py): the
# bundle is a trust anchor that no AWS API returns, so it is fetched from AWS's truststore over HTTPS and checked
# to be nothing but parseable X.509 certificates before it reaches the ConfigMap the database clients verify RDS
# with (libpq sslmode=verify-full, go-sql-driver tls=true). Needs bash, curl and openssl.
#
#   rds_ca_fetch.sh [REGION]        REGION or $RDS_REGION, e.g. me-central-1
#   RDS_CA_URL=URL                  fetch from URL instead (tests: file:// or a loopback http:// server)
set -euo pipefail

region="${1:-${RDS_REGION:-}}"
if [[ ! "$region" =~ ^[a-z]{2}(-gov)?-[a-z]+-[0-9]+$ ]]; then
    echo "rds_ca_fetch: '${region}' is not an AWS region name" >&2
    exit 2
fi

curl_args=(--fail --silent --show-error --location --max-time 60 --retry 3 --max-filesize 1048576)
if [[ -n "${RDS_CA_URL:-}" ]]; then
    url="$RDS_CA_URL"
else
    url="https://truststore.pki.rds.amazonaws.com/${region}/${region}-bundle.pem"
    curl_args+=(--proto '=https' --tlsv1.2)
fi

body="$(mktemp)"
trap 'rm -f "$body" "$body.certs"' EXIT

if ! curl "${curl_args[@]}" --output "$body" "$url"; then
    echo "rds_ca_fetch: could not download ${url}" >&2
    exit 1
fi

# Every line is inside a BEGIN/END CERTIFICATE block (or blank): no HTML error page, no private key, no other PEM.
if ! awk '
    /^-----BEGIN CERTIFICATE-----$/ { if (inside) exit 1; inside = 1; blocks++; next }
    /^-----END CERTIFICATE-----$/   { if (!inside) exit 1; inside = 0; next }
    /^[[:space:]]*$/                { next }
    { if (!inside || $0 !~ /^[A-Za-z0-9+\/=]+$/) exit 1 }
    END { if (inside || blocks == 0) exit 1 }
' "$body"; then
    echo "rds_ca_fetch: ${url} did not return PEM certificates only" >&2
    exit 1
fi

# Each block must parse as an X.509 certificate: openssl prints one subject per certificate it could read.
expected="$(grep -c '^-----BEGIN CERTIFICATE-----$' "$body")"
if ! openssl crl2pkcs7 -nocrl -certfile "$body" 2>/dev/null \
    | openssl pkcs7 -print_certs -noout 2>/dev/null >"$body.certs"; then
    echo "rds_ca_fetch: ${url} holds a block that is not an X.509 certificate" >&2
    exit 1
fi
parsed="$(grep -c '^subject=' "$body.certs" || true)"
if [[ "$parsed" != "$expected" ]]; then
    echo "rds_ca_fetch: ${url}: ${parsed} of ${expected} certificates parse" >&2
    exit 1
fi

cat "$body"
