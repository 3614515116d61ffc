// The seed's ping handler: answers with the Node version it runs on, so a canary split is visible.
exports.handler = async (event, context) => {
  return {
    statusCode: 200,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      message: "pong",
      node: process.version,
      function: context.functionName,
      version: context.functionVersion,
      path: event && event.path,
    }),
  };
};
