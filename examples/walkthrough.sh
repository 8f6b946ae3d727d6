#!/usr/bin/env bash
# A first walk through Order Ledger against a running server: create an order, capture a payment,
# send the same capture again (a replay, not a second charge), reuse its key for another request
# (refused), read the order back with read-your-writes, and audit the log.
#
#   npm start                                  # in another terminal
#   bash examples/walkthrough.sh
#
# BASE_URL   where the ledger listens (default http://127.0.0.1:3000)
# API_KEY    the secret of an API key, if the server has LEDGER_API_KEYS set
# LEDGER_STORE  the server's store, for the audit step (default: sqlite:./data/ledger.db)
set -euo pipefail

BASE_URL="${BASE_URL:-http://127.0.0.1:3000}"
auth=()
if [ -n "${API_KEY:-}" ]; then auth=(-H "Authorization: Bearer ${API_KEY}"); fi
cd "$(dirname "$0")/.."
body_file=$(mktemp)
trap 'rm -f "$body_file"' EXIT

# Prints the request as a curl command (the secret masked), runs it, prints the status line and
# body, and fails the walk unless the status is the expected one.
request() {
  local expected=$1 method=$2 path=$3
  shift 3
  # Quoted so that the printed command can be pasted into a shell as it is.
  printf '\n$ curl -X %s' "$method"
  if [ ${#auth[@]} -gt 0 ]; then printf " -H 'Authorization: Bearer ***'"; fi
  printf ' %q' "$@" "$BASE_URL$path"
  printf '\n'
  status=$(curl -sS -o "$body_file" -w '%{http_code}' -X "$method" "${auth[@]}" "$@" "$BASE_URL$path")
  printf '%s\n' "$status"
  cat "$body_file"
  printf '\n'
  if [ "$status" != "$expected" ]; then
    printf 'expected %s, got %s\n' "$expected" "$status" >&2
    exit 1
  fi
}

# One field of the last response's JSON body.
field() { node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[process.argv[2]]))' "$body_file" "$1"; }

run_id=$(node -e 'process.stdout.write(require("crypto").randomUUID())')
order_key="walkthrough-order-${run_id}"
capture_key="walkthrough-capture-${run_id}"
json=(-H 'Content-Type: application/json')

echo '1. Create an order. POST /orders chooses its id and keeps it with the Idempotency-Key.'
request 201 POST /orders "${json[@]}" -H "Idempotency-Key: ${order_key}" \
  -d '{"customerId":"cust-walkthrough","currency":"EUR","lines":[{"sku":"BOOK-1","quantity":2,"unitPrice":1250}]}'
order_id=$(field orderId)

echo '2. Capture 10.00 EUR of its 25.00 EUR.'
capture='{"paymentId":"pay-1","amount":1000,"currency":"EUR"}'
request 201 POST "/orders/${order_id}/payments" "${json[@]}" -H "Idempotency-Key: ${capture_key}" -d "$capture"
position=$(field position)

echo '3. The same capture again (a client retry): the original answer, nothing charged twice.'
request 201 POST "/orders/${order_id}/payments" "${json[@]}" -H "Idempotency-Key: ${capture_key}" -d "$capture"

echo '4. The same key for another request: refused, the key stays bound to its first request.'
request 422 POST "/orders/${order_id}/payments" "${json[@]}" -H "Idempotency-Key: ${capture_key}" \
  -d '{"paymentId":"pay-1","amount":1500,"currency":"EUR"}'

echo "5. Read the order back, at least as new as the capture (minPosition=${position})."
request 200 GET "/orders/${order_id}?minPosition=${position}"
captured=$(field captured)
if [ "$captured" != 1000 ]; then
  echo "expected 1000 captured, read ${captured}" >&2
  exit 1
fi

echo '6. Audit the whole log: schemas, hash chains, ids, payments and totals.'
printf '\n$ npm run --silent ledger -- replay --store %s\n' "${LEDGER_STORE:-sqlite:./data/ledger.db}"
npm run --silent ledger -- replay --store "${LEDGER_STORE:-sqlite:./data/ledger.db}"
echo
echo 'walkthrough complete'
