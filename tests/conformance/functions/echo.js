// Node equivalent of LocalStack's tests/aws/services/lambda_/functions/lambda_echo.py: returns the event.
exports.handler = async (event) => event;
