// Runs AWS's own Node.js runtime interface client (npm aws-lambda-ric, github.com/aws/aws-lambda-nodejs-runtime-
// interface-client) in place of lambda-canary's: `--runtime-client aws`. `lambda-canary runtimes install-client aws`
// puts it next to this file, in node_modules/aws-lambda-ric, built against the cached Node release's headers.
//
// lambda-canary keeps each environment's Runtime API private with a secret path (AWS_LAMBDA_RUNTIME_API is
// `host:port/<secret>`). AWS's native client builds its URLs from the whole variable, so next/response/error reach
// it; its JavaScript requests (init/error, streaming) name only host and port, so their paths get the prefix here.
import http from "node:http";

const address = process.env.AWS_LAMBDA_RUNTIME_API || "";
const slash = address.indexOf("/");
if (slash >= 0) {
  const prefix = address.slice(slash);
  const request = http.request;
  http.request = function prefixed(options, ...rest) {
    if (options && typeof options === "object" && typeof options.path === "string"
      && options.path.startsWith("/2018-06-01/runtime/")) {
      options = { ...options, path: prefix + options.path };
    }
    return request.call(this, options, ...rest);
  };
}

// As the managed runtime's /var/runtime/index.mjs: run(LAMBDA_TASK_ROOT, _HANDLER); a failure to load the function
// reaches the client's uncaughtException listener (a rejected top-level await), which posts the init error.
const { run } = await import("./node_modules/aws-lambda-ric/dist/index.mjs");
await run(process.env.LAMBDA_TASK_ROOT || process.cwd(), process.env._HANDLER || "");
