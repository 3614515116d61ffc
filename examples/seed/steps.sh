#!/bin/bash
# Steps 1-4 of the seed note (shared/seeds/multi-runtime-canary.md, "IMPLEMENTAÇÃO PRÁTICA"), as written.
# `lambda-canary check examples/seed/steps.sh` reports the update-stage calls' problems.

# ### 1. Deploy Inicial (Node 18):
# serverless.yml: runtime nodejs18.x
serverless deploy --stage prod
# Resultado: ping-stable-prod (Node 18)
# API Gateway: 100% tráfego → ping-stable-prod

# ### 2. Deploy Canary (Node 22):
# Adicionar função canary no serverless.yml
# runtime: nodejs22.x
serverless deploy --stage prod
# Resultado: 
# - ping-stable-prod (Node 18) 
# - ping-canary-prod (Node 22)

# ### 3. Ativar Canary no API Gateway:
aws apigateway update-stage \
  --rest-api-id $API_ID \
  --stage-name prod \
  --patch-ops op=replace,path=/canarySettings/percentTraffic,value=10

# Resultado:
# 90% requests → ping-stable-prod (Node 18)
# 10% requests → ping-canary-prod (Node 22)

# ### 4. Promotion/Rollback:
# Aumentar canary
aws apigateway update-stage \
  --patch-ops op=replace,path=/canarySettings/percentTraffic,value=50

# Full promotion (trocar função principal)
aws apigateway update-stage \
  --patch-ops op=remove,path=/canarySettings
  # E atualizar integration URI para ping-canary-prod
