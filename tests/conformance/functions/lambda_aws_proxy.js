// Node equivalent of LocalStack's tests/aws/services/lambda_/functions/lambda_aws_proxy.py:
// logs the event and answers it back as the proxy response body.
exports.handler = async (event) => {
  console.log(JSON.stringify(event));
  return { statusCode: 200, body: JSON.stringify(event), isBase64Encoded: false };
};
