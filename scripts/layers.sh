#!/usr/bin/env bash
# Runs one Pulumi command on every layer of an environment, in the order that command needs:
# dependency order (network, registry, compute, observability) for up, preview and refresh, the
# reverse for destroy. Each layer's stack is selected first, created if missing.
#
#   scripts/layers.sh up dev                       # deploy (or update) the dev environment
#   scripts/layers.sh preview dev --expect-no-changes
#   scripts/layers.sh destroy dev                  # tear it down, consumers first
#
# Arguments after the stack name go to every `pulumi <command>` (for example --policy-pack DIR).
# The stack name is short (`dev`): on Pulumi Cloud it lands in your default organization, on a
# file or S3 backend in `organization`, and the layers' default stack references follow it.
set -euo pipefail

usage="usage: scripts/layers.sh up|preview|refresh|destroy <stack> [pulumi arguments...]"
[[ $# -ge 2 ]] || { echo "$usage" >&2; exit 2; }
command=$1 stack=$2
shift 2
layers=(network registry compute observability)
case "$command" in
  up | refresh) extra=(--yes) ;;
  preview) extra=() ;;
  destroy) extra=(--yes) layers=(observability compute registry network) ;;
  *) echo "scripts/layers.sh: unknown command '$command'; $usage" >&2; exit 2 ;;
esac
root="$(cd "$(dirname "$0")/.." && pwd)"
for layer in "${layers[@]}"; do
  echo "== $layer: pulumi $command ($stack)"
  (cd "$root/stacks/$layer" && pulumi stack select --create "$stack" && pulumi "$command" "${extra[@]}" "$@")
done
