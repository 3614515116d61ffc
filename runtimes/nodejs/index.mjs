// lambda-canary's Node.js runtime client: the Lambda Runtime API loop for Node 18, 20, 22 and 24.
// Plain JavaScript, no npm dependencies. It follows the contract of AWS's Node.js runtime:
// _HANDLER resolution (.js/.mjs/.cjs, ESM and CommonJS), async and callback handlers, the context
// object, error JSON {errorType, errorMessage, trace}, init errors, and Lambda-style console lines.
import net from "node:net";
import path from "node:path";
import fs from "node:fs";
import util from "node:util";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const env = process.env;
// host:port, optionally followed by the environment's secret path (lambda-canary's private Runtime API):
// `127.0.0.1:9001/<secret>` means requests go to `/<secret>/2018-06-01/runtime/...`.
const runtimeApiAddress = env.AWS_LAMBDA_RUNTIME_API || "127.0.0.1:9001";
const slash = runtimeApiAddress.indexOf("/");
const authority = slash < 0 ? runtimeApiAddress : runtimeApiAddress.slice(0, slash);
const colon = authority.lastIndexOf(":");
const apiHost = authority.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
const apiPort = authority.slice(colon + 1);
const BASE = `${slash < 0 ? "" : runtimeApiAddress.slice(slash)}/2018-06-01/runtime`;
let currentRequestId;

// ---- Runtime API client ---------------------------------------------------------------------
// One persistent HTTP/1.1 connection, one request at a time, each request written with a single
// socket write. Node's http module costs several times more CPU per call than the handler it serves;
// AWS's own Node runtime uses a native client for the same reason.
class RuntimeApiConnection {
  constructor(host, port) {
    this.host = host;
    this.port = port;
    this.socket = null;
    this.buffer = Buffer.alloc(0);
    this.pending = null;
  }

  connect() {
    const socket = net.connect({ host: this.host, port: this.port });
    socket.setNoDelay(true);
    socket.on("data", (chunk) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      this.parse();
    });
    const fail = (error) => {
      this.socket = null;
      this.buffer = Buffer.alloc(0);
      const pending = this.pending;
      this.pending = null;
      if (pending) pending.reject(error || new Error("Runtime API connection closed"));
    };
    socket.on("error", fail);
    socket.on("close", () => fail(null));
    this.socket = socket;
  }

  request(method, urlPath, body, headers) {
    if (!this.socket) this.connect();
    const payload = body || EMPTY;
    let head = `${method} ${BASE}${urlPath} HTTP/1.1\r\nHost: ${authority}\r\nContent-Length: ${payload.length}\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    const message = Buffer.concat([Buffer.from(head + "\r\n", "latin1"), payload]);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.ref();
      this.socket.write(message);
    });
  }

  parse() {
    const end = this.buffer.indexOf("\r\n\r\n");
    if (end < 0 || !this.pending) return;
    const lines = this.buffer.toString("latin1", 0, end).split("\r\n");
    const status = Number(lines[0].split(" ")[1]);
    const headers = {};
    for (let i = 1; i < lines.length; i += 1) {
      const colon = lines[i].indexOf(":");
      headers[lines[i].slice(0, colon).trim().toLowerCase()] = lines[i].slice(colon + 1).trim();
    }
    let body;
    let consumed;
    if ((headers["transfer-encoding"] || "").toLowerCase() === "chunked") {
      const decoded = decodeChunked(this.buffer, end + 4);
      if (!decoded) return;
      [body, consumed] = decoded;
    } else {
      const length = Number(headers["content-length"] || 0);
      if (this.buffer.length < end + 4 + length) return;
      body = this.buffer.subarray(end + 4, end + 4 + length);
      consumed = end + 4 + length;
    }
    this.buffer = this.buffer.subarray(consumed);
    const pending = this.pending;
    this.pending = null;
    this.socket.unref(); // an idle connection must not keep the event loop alive (callbackWaitsForEmptyEventLoop)
    pending.resolve({ status, headers, body: Buffer.from(body) });
  }
}

function decodeChunked(buffer, start) {
  const parts = [];
  let offset = start;
  for (;;) {
    const lineEnd = buffer.indexOf("\r\n", offset);
    if (lineEnd < 0) return null;
    const size = parseInt(buffer.toString("latin1", offset, lineEnd), 16);
    if (size === 0) {
      const trailerEnd = buffer.indexOf("\r\n\r\n", lineEnd);
      return trailerEnd < 0 ? null : [Buffer.concat(parts), trailerEnd + 4];
    }
    if (buffer.length < lineEnd + 2 + size + 2) return null;
    parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
}

const EMPTY = Buffer.alloc(0);
const runtimeApi = new RuntimeApiConnection(apiHost, Number(apiPort));

function call(method, urlPath, body, headers = {}) {
  return runtimeApi.request(method, urlPath, body, headers);
}

function postJson(urlPath, payload, headers = {}) {
  const body = Buffer.from(JSON.stringify(payload));
  return call("POST", urlPath, body, { "Content-Type": "application/json", ...headers });
}

function postError(urlPath, error) {
  const payload = toErrorPayload(error);
  return postJson(urlPath, payload, {
    "Content-Type": "application/vnd.aws.lambda.error+json",
    "Lambda-Runtime-Function-Error-Type": payload.errorType,
  });
}

// ---- Errors, as the Lambda Node.js runtime reports them ---------------------------------------
class NamedError extends Error {
  constructor(name, message, cause) {
    super(message);
    this.name = name;
    if (cause && cause.stack) this.stack = `${name}: ${message}\n${String(cause.stack).split("\n").slice(1).join("\n")}`;
  }
}

function toErrorPayload(error) {
  try {
    if (error instanceof Error || (error && typeof error === "object" && "message" in error && "name" in error)) {
      return {
        errorType: String(error.name),
        errorMessage: String(error.message),
        trace: String(error.stack || "").split("\n"),
      };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch {
    return { errorType: "handled", errorMessage: "callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack" };
  }
}

// ---- Console: "<ISO time>\t<request id>\t<LEVEL>\t<message>" -----------------------------------
function patchConsole() {
  const write = (level, args) => {
    const line = `${new Date().toISOString()}\t${currentRequestId}\t${level}\t${util.format(...args)}\n`;
    process.stdout.write(line);
  };
  console.log = (...args) => write("INFO", args);
  console.info = (...args) => write("INFO", args);
  console.warn = (...args) => write("WARN", args);
  console.error = (...args) => write("ERROR", args);
  console.debug = (...args) => write("DEBUG", args);
  console.trace = (...args) => write("TRACE", args);
  console.fatal = (...args) => write("FATAL", args);
}

// ---- Handler resolution (_HANDLER = "dir/file.export") ----------------------------------------
function hasTypeModule(start) {
  let dir = path.dirname(start);
  for (;;) {
    const candidate = path.join(dir, "package.json");
    if (fs.existsSync(candidate)) {
      try {
        return JSON.parse(fs.readFileSync(candidate, "utf8")).type === "module";
      } catch {
        return false;
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return false;
    dir = parent;
  }
}

async function loadModule(taskRoot, moduleName) {
  const base = path.resolve(taskRoot, moduleName);
  const require = createRequire(path.join(taskRoot, "index.js"));
  const exists = (suffix) => fs.existsSync(base + suffix) && fs.statSync(base + suffix).isFile();
  const importIt = (file) => import(pathToFileURL(file).href);
  if (exists("")) return require(base);
  const typeModule = hasTypeModule(base);
  if (exists(".js")) return typeModule ? importIt(base + ".js") : require(base + ".js");
  if (exists(".mjs")) return importIt(base + ".mjs");
  if (exists(".cjs")) return require(base + ".cjs");
  try {
    return require(require.resolve(moduleName, { paths: [taskRoot] }));
  } catch (error) {
    if (error && error.code === "MODULE_NOT_FOUND") {
      throw new NamedError("Runtime.ImportModuleError", `Error: Cannot find module '${moduleName}'\nRequire stack:\n- ${path.join(env.LAMBDA_RUNTIME_DIR || "", "index.mjs")}`);
    }
    throw error;
  }
}

async function loadHandler() {
  const taskRoot = env.LAMBDA_TASK_ROOT || process.cwd();
  const spec = env._HANDLER || "";
  const slash = spec.lastIndexOf("/");
  const dot = spec.indexOf(".", slash + 1);
  if (dot < 0) throw new NamedError("Runtime.MalformedHandlerName", "Bad handler");
  const modulePath = spec.slice(0, dot);
  const exportPath = spec.slice(dot + 1);
  if (modulePath.includes("..")) throw new NamedError("Runtime.MalformedHandlerName", "'../' not allowed in handler path");
  let loaded;
  try {
    loaded = await loadModule(taskRoot, modulePath);
  } catch (error) {
    if (error instanceof NamedError) throw error;
    if (error instanceof SyntaxError) throw new NamedError("Runtime.UserCodeSyntaxError", `${error.name}: ${error.message}`, error);
    throw error;
  }
  let handler = loaded;
  for (const part of exportPath.split(".")) handler = handler == null ? undefined : handler[part];
  if (handler === undefined) throw new NamedError("Runtime.HandlerNotFound", `${path.basename(modulePath)}.${exportPath} is undefined or not exported`);
  if (typeof handler !== "function") throw new NamedError("Runtime.HandlerNotFound", `${path.basename(modulePath)}.${exportPath} is not a function`);
  if (handler.length >= 3 && runtimeMajor() >= 24) {
    // AWS's nodejs24.x runtime refuses callback-based handlers at init (it counts formal parameters).
    throw new NamedError("Runtime.CallbackHandlerDeprecated", "ERROR: AWS Lambda has removed support for callback-based function handlers starting with Node.js 24. You need to modify this function to use a supported handler signature to use Node.js 24 or later. For more information see https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.");
  }
  return handler;
}

function runtimeMajor() {
  const match = /^AWS_Lambda_nodejs(\d+)\.x$/.exec(env.AWS_EXECUTION_ENV || "");
  return Number(match ? match[1] : process.versions.node.split(".")[0]);
}

// ---- Context -------------------------------------------------------------------------------
function makeContext(headers) {
  const deadline = Number(headers["lambda-runtime-deadline-ms"]);
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers["lambda-runtime-invoked-function-arn"],
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: headers["lambda-runtime-aws-request-id"],
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
  if (headers["lambda-runtime-client-context"]) context.clientContext = JSON.parse(headers["lambda-runtime-client-context"]);
  if (headers["lambda-runtime-cognito-identity"]) context.identity = JSON.parse(headers["lambda-runtime-cognito-identity"]);
  return context;
}

// ---- One invocation: async or callback style ---------------------------------------------------
// As AWS's Node runtime: a promise settles the invocation; otherwise the callback does (after the event loop
// empties, unless callbackWaitsForEmptyEventLoop is false); a handler that returns a plain value and never
// calls back answers null once the event loop is empty.
function runHandler(handler, event, context) {
  return new Promise((resolve) => {
    let settled = false;
    let waiting; // the callback's outcome, held until the event loop is empty
    let listening = false;
    const onEmptyLoop = () => settle(waiting ?? { result: null });
    const settle = (outcome) => {
      if (settled) return;
      settled = true;
      if (listening) process.removeListener("beforeExit", onEmptyLoop);
      resolve(outcome);
    };
    const waitForEmptyLoop = () => {
      if (!listening) {
        listening = true;
        process.on("beforeExit", onEmptyLoop);
      }
    };
    const callback = (error, result) => {
      const outcome = error != null ? { error } : { result };
      if (context.callbackWaitsForEmptyEventLoop) {
        waiting ??= outcome;
        waitForEmptyLoop();
      } else {
        settle(outcome);
      }
    };
    context.done = (error, result) => callback(error, result);
    context.succeed = (result) => callback(null, result);
    context.fail = (error) => callback(error ?? "handled");
    try {
      const returned = handler(event, context, callback);
      if (returned && typeof returned.then === "function") {
        returned.then((result) => settle({ result }), (error) => settle({ error: error ?? new Error("Promise rejected with undefined") }));
      } else {
        waitForEmptyLoop();
      }
    } catch (error) {
      settle({ error });
    }
  });
}

/** Output the handler wrote that Node still buffers (its pipe was full) reaches the pipe before the answer, so the
 * function's lines come before END/REPORT; nothing to wait for in the common case. Node emits 'drain' only after a
 * write overflowed the high-water mark, so the buffer is watched instead; the timer also keeps the process alive
 * (waiting on a 'drain' that never came let Node run out of work and exit 0 mid-invocation). */
function outputWritten() {
  const pending = [process.stdout, process.stderr].filter((stream) => stream.writableLength > 0);
  if (pending.length === 0) return undefined;
  const emptied = (stream) => new Promise((resolve) => {
    const check = () => (stream.writableLength === 0 || stream.destroyed ? resolve() : setTimeout(check, 1));
    check();
  });
  return Promise.all(pending.map(emptied));
}

async function main() {
  patchConsole();
  let handler;
  try {
    handler = await loadHandler();
  } catch (error) {
    console.error(`${error && error.name}: ${error && error.message}`);
    await postError("/init/error", error).catch(() => {});
    process.exit(129);
  }
  const fail = async (type, error) => {
    const wrapped = new NamedError(type, error instanceof Error ? `${error.name}: ${error.message}` : String(error), error);
    console.error(`${wrapped.name}\t${wrapped.message}`);
    if (currentRequestId) await postError(`/invocation/${currentRequestId}/error`, wrapped).catch(() => {});
    process.exit(129);
  };
  process.on("uncaughtException", (error) => fail("Runtime.UncaughtException", error));
  process.on("unhandledRejection", (reason) => fail("Runtime.UnhandledPromiseRejection", reason));

  for (;;) {
    const next = await call("GET", "/invocation/next");
    if (next.status !== 200) {
      process.stderr.write(`runtime API /next answered ${next.status}: ${next.body}\n`);
      process.exit(1);
    }
    const requestId = next.headers["lambda-runtime-aws-request-id"];
    currentRequestId = requestId;
    if (next.headers["lambda-runtime-trace-id"]) env._X_AMZN_TRACE_ID = next.headers["lambda-runtime-trace-id"];
    else delete env._X_AMZN_TRACE_ID;
    let outcome;
    try {
      const event = next.body.length ? JSON.parse(next.body.toString("utf8")) : null;
      outcome = await runHandler(handler, event, makeContext(next.headers));
    } catch (error) {
      outcome = { error };
    }
    await outputWritten();
    if ("error" in outcome) {
      console.error(`Invoke Error \t${JSON.stringify(toErrorPayload(outcome.error))}`);
      await postError(`/invocation/${requestId}/error`, outcome.error);
    } else {
      let body;
      try {
        body = Buffer.from(JSON.stringify(outcome.result === undefined ? null : outcome.result));
      } catch (error) {
        await postError(`/invocation/${requestId}/error`, error);
        continue;
      }
      // A 413 (payload too large) is turned into the invocation's error by the Runtime API itself.
      await call("POST", `/invocation/${requestId}/response`, body, { "Content-Type": "application/json" });
    }
  }
}

// ---- `serve`'s start-up check: each handler loaded as an environment's init loads it ----------------------
// stdin: {"marker", "timeoutMs", "handlers": [{"root", "handler"}]}; one stdout line per handler,
// `<marker>\t<index>\t{"ok": true} | {"error": {...}} | {"timeout": true}` (written synchronously, so a module
// that exits the process cannot cut a written line short).
async function checkHandlers() {
  const input = JSON.parse(fs.readFileSync(0, "utf8"));
  process.on("uncaughtException", () => {});
  process.on("unhandledRejection", () => {});
  for (const [index, item] of input.handlers.entries()) {
    env.LAMBDA_TASK_ROOT = item.root;
    env._HANDLER = item.handler;
    let timer;
    const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve({ timeout: true }), input.timeoutMs); });
    const loading = loadHandler().then(() => ({ ok: true }), (error) => ({ error: toErrorPayload(error) }));
    const result = await Promise.race([loading, timeout]);
    clearTimeout(timer);
    fs.writeSync(1, `\n${input.marker}\t${index}\t${JSON.stringify(result)}\n`);
  }
  process.exit(0);
}

if (env.LAMBDA_CANARY_CHECK_HANDLERS === "1") checkHandlers();
else main();
