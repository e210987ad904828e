#!/usr/bin/env bash
# Send a simulated onboarding to a running Ops and check what it derived.
#
#   scripts/verify-funnel-webhook.sh http://127.0.0.1:8080
#
# Needs OPS_WEBHOOK_SECRET and OPS_API_TOKEN (from the environment, else var/secrets.env).
# Signs with curl + openssl only; reads answers with python3. Sends a complete session, a
# session that fails, one still in progress and one event twice, then checks the funnel
# (as differences from before, so a busy Ops does not confuse it), a timeline and the
# tickets. Prints each check; exits non-zero on the first mismatch.
set -euo pipefail
ops_url="${1:?usage: $0 OPS_URL}"
ops_url="${ops_url%/}"
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "${OPS_WEBHOOK_SECRET:-}" ] || [ -z "${OPS_API_TOKEN:-}" ]; then
  [ -f "$root/var/secrets.env" ] || { echo "set OPS_WEBHOOK_SECRET and OPS_API_TOKEN" >&2; exit 2; }
  set -a; . "$root/var/secrets.env"; set +a
fi
key_hex="$(printf '%s' "${OPS_WEBHOOK_SECRET%% *}" | sed 's/^whsec_//' | openssl base64 -d -A | od -An -tx1 | tr -d ' \n')"
run="v$(date +%s)$$"
failures=0

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
check() { # description expected actual
  if [ "$2" == "$3" ]; then echo "ok   $1 ($3)"; else echo "FAIL $1: expected $2, got $3"; failures=$((failures+1)); fi
}
api() { curl -sS --max-time 10 -H "Authorization: Bearer $OPS_API_TOKEN" "$ops_url$1"; }
send() { # webhook-id type session seconds-ago [extra data json]
  local at body ts sig
  at="$(date -u -d "@$(( $(date +%s) - $4 ))" +%Y-%m-%dT%H:%M:%SZ)"
  body="{\"type\":\"$2\",\"timestamp\":\"$at\",\"data\":{\"session_id\":\"$3\",\"domain\":\"$3.example.com\"${5:-}}}"
  ts="$(date +%s)"
  sig="$(printf '%s' "$1.$ts.$body" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key_hex" -binary | openssl base64 -A)"
  curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -X POST "$ops_url/api/v1/webhooks/onboard" \
    -H 'content-type: application/json' -H "webhook-id: $1" -H "webhook-timestamp: $ts" \
    -H "webhook-signature: v1,$sig" --data-binary "$body"
}

before="$(api /api/v1/onboard/funnel)"
stage_list="started domain_validated dns_applied account_created infra_synced completed"

done_s="${run}-done"; fail_s="${run}-fail"; wip_s="${run}-wip"
i=0
for type in onboarding.started domain.validated dns.applied account.created infra.synced onboarding.completed; do
  check "send $type ($done_s)" 202 "$(send "$done_s-$i" "$type" "$done_s" $((600 - 60 * i)))"
  i=$((i + 1))
done
check "resend domain.validated: duplicate" 200 "$(send "$done_s-1" domain.validated "$done_s" 540)"
check "send onboarding.started ($fail_s)" 202 "$(send "$fail_s-0" onboarding.started "$fail_s" 500)"
check "send domain.validated ($fail_s)" 202 "$(send "$fail_s-1" domain.validated "$fail_s" 490)"
check "send onboarding.failed ($fail_s)" 202 \
  "$(send "$fail_s-2" onboarding.failed "$fail_s" 480 ',"stage":"account_created","reason":"carbonio fault"')"
check "send onboarding.started ($wip_s)" 202 "$(send "$wip_s-0" onboarding.started "$wip_s" 300)"
check "send domain.validated ($wip_s)" 202 "$(send "$wip_s-1" domain.validated "$wip_s" 290)"
check "bad signature refused" 401 "$(OPS_WEBHOOK_SECRET=whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA key_hex=00 send "$run-x" onboarding.started "$run-x" 10)"

after="$(api /api/v1/onboard/funnel)"
expected=(3 3 1 1 1 1)
n=0
for stage in $stage_list; do
  delta=$(( $(json "d['stages']['$stage']" <<<"$after") - $(json "d['stages']['$stage']" <<<"$before") ))
  check "funnel $stage +${expected[$n]}" "${expected[$n]}" "$delta"
  n=$((n + 1))
done
check "funnel failed +1" 1 $(( $(json "d['failed']" <<<"$after") - $(json "d['failed']" <<<"$before") ))
check "in-progress session listed as active" True "$(json "'$wip_s' in [s['session_id'] for s in d['active_sessions']]" <<<"$after")"

timeline="$(api "/api/v1/onboard/sessions/$done_s/timeline")"
check "timeline of $done_s in order" \
  "onboarding.started,domain.validated,dns.applied,account.created,infra.synced,onboarding.completed" \
  "$(json "','.join(e['event_type'] for e in d['events'])" <<<"$timeline")"
check "timeline status" completed "$(json "d['status']" <<<"$timeline")"

ticket_id="$(api "/api/v1/desk/tickets?session_id=$fail_s" | json "d['tickets'][0]['id'] if d['tickets'] else 'none'")"
ticket="$(api "/api/v1/desk/tickets/$ticket_id")"
check "ticket of $fail_s tagged" "onboarding_failed" "$(json "','.join(d['tags'])" <<<"$ticket")"
check "ticket of $fail_s timeline" "onboarding.started,domain.validated,onboarding.failed" \
  "$(json "','.join(e['event_type'] for e in d['timeline'] if e['kind'] == 'event')" <<<"$ticket")"
check "ticket of $done_s ready for ops" "ready_for_ops" \
  "$(api "/api/v1/desk/tickets?session_id=$done_s" | json "','.join(d['tickets'][0]['tags'])")"
check "no ticket for $wip_s" 0 "$(api "/api/v1/desk/tickets?session_id=$wip_s" | json "len(d['tickets'])")"

if [ "$failures" -ne 0 ]; then echo "$failures check(s) failed"; exit 1; fi
echo "all checks passed"
