// Node equivalent of LocalStack's tests/aws/services/lambda_/functions/lambda_integration.py as the recorded
// tests use it: logs the event and returns {"event": event}.
exports.handler = async (event, context) => {
  console.log(JSON.stringify(event));
  return { event };
};
