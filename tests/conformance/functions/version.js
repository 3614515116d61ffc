// Node equivalent of LocalStack's tests/aws/services/lambda_/functions/lambda_python_version.py: which
// runtime answers.
exports.handler = async () => ({ version: process.version });
