#!/bin/sh
# /lambda-entrypoint.sh of the lambda-canary stand-in base images. It follows the documented logic of
# the public Lambda base images (shared/reference/aws-semantics.md §7): the one argument is the
# handler; without AWS_LAMBDA_RUNTIME_API (running locally) the Runtime Interface Emulator serves
# invokes on :8080 and starts the bootstrap; inside Lambda the bootstrap talks to the real Runtime API.
if [ $# -ne 1 ]; then
  echo "entrypoint requires the handler name to be the first argument" 1>&2
  exit 142
fi
export _HANDLER="$1"

RUNTIME_ENTRYPOINT=/var/runtime/bootstrap
if [ -z "${AWS_LAMBDA_RUNTIME_API}" ]; then
  exec /usr/local/bin/aws-lambda-rie "$RUNTIME_ENTRYPOINT"
else
  exec "$RUNTIME_ENTRYPOINT"
fi
