#!/bin/sh
# Creates the namespace and registers driftplane's search attributes (idempotent).
set -eu
NS=${DEFAULT_NAMESPACE:-default}
ADDR=${TEMPORAL_ADDRESS:-temporal:7233}
until temporal operator cluster health --address "$ADDR"; do sleep 3; done
temporal operator namespace describe -n "$NS" --address "$ADDR" >/dev/null 2>&1 || temporal operator namespace create -n "$NS" --address "$ADDR"
for sa in DriftClass Risk Owner Environment LifecycleState Unit HotfixIncident WindowState; do
  temporal operator search-attribute create --namespace "$NS" --address "$ADDR" --name "$sa" --type Keyword || echo "search attribute $sa exists"
done
echo "namespace $NS and driftplane search attributes are ready"
