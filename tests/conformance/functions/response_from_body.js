// Node equivalent of LAMBDA_RESPONSE_FROM_BODY in LocalStack's tests/aws/services/apigateway/test_apigateway_lambda.py:
// the request body (base64-decoded when flagged) parsed as JSON is the proxy response.
exports.handler = async (event) => {
  let body = event.body;
  if (event.isBase64Encoded) body = Buffer.from(body, "base64").toString();
  if (body === null || body === undefined) {
    // json.loads(None) raises in the Python original
    throw new TypeError("the JSON object must be str, bytes or bytearray, not NoneType");
  }
  return JSON.parse(body);
};
