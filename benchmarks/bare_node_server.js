// The floor for gateway benchmarks: the same handler behind a bare Node http server, no API Gateway.
const http = require("node:http");
const path = require("node:path");
const [, , handlerFile, exportName, port] = process.argv;
const handler = require(path.resolve(handlerFile))[exportName];
const context = { functionName: "bare", functionVersion: "$LATEST", awsRequestId: "bare" };
http.createServer((request, response) => {
  const event = { path: request.url, httpMethod: request.method, headers: request.headers };
  Promise.resolve(handler(event, context)).then((result) => {
    response.writeHead(result.statusCode || 200, result.headers || { "Content-Type": "application/json" });
    response.end(result.body || "");
  });
}).listen(Number(port), "127.0.0.1", () => process.stdout.write("ready\n"));
