#!/bin/bash
# deploy-runtime-canary.sh from the seed note (shared/seeds/multi-runtime-canary.md), as written.

OLD_RUNTIME="nodejs18.x"
NEW_RUNTIME="nodejs22.x"
CANARY_PERCENT=${1:-10}

echo "🚀 Multi-runtime canary deployment"
echo "   Old: $OLD_RUNTIME (stable function)"
echo "   New: $NEW_RUNTIME (canary function)"
echo "   Traffic: ${CANARY_PERCENT}% canary"

# Step 1: Deploy both functions
serverless deploy --stage prod

# Step 2: Configure API Gateway canary
API_ID=$(aws apigateway get-rest-apis \
  --query "items[?name=='multi-runtime-api'].id" \
  --output text)

aws apigateway update-stage \
  --rest-api-id $API_ID \
  --stage-name prod \
  --patch-ops op=replace,path=/canarySettings/percentTraffic,value=${CANARY_PERCENT}

echo "✅ Canary deployment active!"
echo "📊 ${CANARY_PERCENT}% → Node 22, $((100-CANARY_PERCENT))% → Node 18"
