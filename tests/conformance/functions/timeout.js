// Node equivalent of LocalStack's tests/aws/services/lambda_/functions/lambda_timeout.py: waits event.wait seconds.
exports.handler = async (event) => {
  console.log("starting wait");
  await new Promise((resolve) => setTimeout(resolve, event.wait * 1000));
  console.log("done waiting");
};
