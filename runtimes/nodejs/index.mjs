// lambda-canary's Node.js runtime client: the Lambda Runtime API loop for Node 18, 20, 22 and 24.
// Plain JavaScript, no npm dependencies. It follows AWS's own Node.js runtime interface client
// (github.com/aws/aws-lambda-nodejs-runtime-interface-client, commit da5777a8963928cac4f6f93d88d6928262f6bd2a,
// v3.3.0: src/UserFunction.js, src/Runtime.js, src/CallbackContext.js, src/Errors.js, src/LogPatch.js):
// _HANDLER resolution (extensionless, .js/.mjs/.cjs, ESM and CommonJS), async and callback handlers,
// context.done/succeed/fail, the context object, error JSON {errorType, errorMessage, trace}, init errors,
// Runtime.NodeJsExit for a promise that never settles, and Lambda's console lines (TEXT or JSON, levels).
// tests/conformance/runtime_client/ holds the cases, from that repository's fixtures and tests.
// One deliberate difference: on stdout AWS's client turns a message's newlines into \r (each console call
// one line); the managed runtime frames each call on a telemetry fd instead, keeping the newlines, as we do.
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
// One persistent HTTP/1.1 connection; requests written with a single socket write each, or several
// pipelined in one (an invocation's answer and the next `GET /next`: HTTP/1.1 answers them in order,
// and the runtime would send the poll as soon as the answer is accepted anyway). Node's http module
// costs several times more CPU per call than the handler it serves; AWS's own Node runtime uses a
// native client for the same reason.
class RuntimeApiConnection {
  constructor(host, port) {
    this.host = host;
    this.port = port;
    this.socket = null;
    this.buffer = Buffer.alloc(0);
    this.pending = []; // requests sent and not yet answered, oldest first
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
      this.pending = [];
      for (const request of pending) request.reject(error || new Error("Runtime API connection closed"));
    };
    socket.on("error", fail);
    socket.on("close", () => fail(null));
    this.socket = socket;
  }

  request(method, urlPath, body, headers) {
    return this.pipeline([[method, urlPath, body, headers]])[0];
  }

  /** Send [method, urlPath, body, headers] requests in one write; a promise of each answer, in order. */
  pipeline(requests) {
    if (!this.socket) this.connect();
    const parts = [];
    for (const [method, urlPath, body, headers = {}] of requests) {
      const payload = body || EMPTY;
      let head = `${method} ${BASE}${urlPath} HTTP/1.1\r\nHost: ${authority}\r\nContent-Length: ${payload.length}\r\n`;
      for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
      parts.push(Buffer.from(head + "\r\n", "latin1"), payload);
    }
    const answers = requests.map(() => new Promise((resolve, reject) => this.pending.push({ resolve, reject })));
    this.socket.ref();
    this.socket.write(Buffer.concat(parts));
    return answers;
  }

  parse() {
    while (this.pending.length && this.parseOne());
  }

  /** One whole answer at the buffer's start, handed to the oldest request; false: not all of it is here. */
  parseOne() {
    const end = this.buffer.indexOf("\r\n\r\n");
    if (end < 0) return false;
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
      if (!decoded) return false;
      [body, consumed] = decoded;
    } else {
      const length = Number(headers["content-length"] || 0);
      if (this.buffer.length < end + 4 + length) return false;
      body = this.buffer.subarray(end + 4, end + 4 + length);
      consumed = end + 4 + length;
    }
    this.buffer = this.buffer.subarray(consumed);
    const pending = this.pending.shift();
    // an idle connection must not keep the event loop alive (callbackWaitsForEmptyEventLoop)
    if (this.pending.length === 0 && this.socket) this.socket.unref();
    pending.resolve({ status, headers, body: Buffer.from(body) });
    return true;
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

function errorRequest(urlPath, error) {
  const payload = toErrorPayload(error);
  return ["POST", urlPath, Buffer.from(JSON.stringify(payload)), {
    "Content-Type": "application/vnd.aws.lambda.error+json",
    "Lambda-Runtime-Function-Error-Type": payload.errorType,
  }];
}

function postError(urlPath, error) {
  return runtimeApi.request(...errorRequest(urlPath, error));
}

// ---- Errors, as the Lambda Node.js runtime reports them (src/Errors.js) -------------------------
class NamedError extends Error {
  constructor(name, message, cause) {
    super(message);
    this.name = name;
    if (cause && cause.stack) this.stack = `${name}: ${message}\n${String(cause.stack).split("\n").slice(1).join("\n")}`;
  }
}

const NODEJS_EXIT_MESSAGE = "The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a Promise that was never settled. For more information, see https://nodejs.org/docs/latest/api/process.html#exit-codes";

function isErrorLike(value) {
  return Boolean(value && value.name && value.message && value.stack && typeof value.name === "string"
    && typeof value.message === "string" && typeof value.stack === "string");
}

/** The Runtime API's error body (Errors.toRapidResponse); DEL is escaped, as it may not go in a header. */
function toErrorPayload(error) {
  try {
    if (util.types.isNativeError(error) || isErrorLike(error)) {
      return {
        errorType: error.name?.replaceAll("\x7F", "%7F"),
        errorMessage: error.message?.replaceAll("\x7F", "%7F"),
        trace: error.stack.replaceAll("\x7F", "%7F").split("\n"),
      };
    }
    return { errorType: typeof error, errorMessage: error.toString(), trace: [] };
  } catch {
    return { errorType: "handled", errorMessage: "callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack" };
  }
}

const intoError = (error) => (error instanceof Error ? error : new Error(error));

/** An error as its log line shows it (Errors.toFormatted): name, message, code, own fields and stack lines. */
function toFormatted(error) {
  const withFields = (value) => {
    if (!(value instanceof Error)) return value;
    const fields = Object.assign({ errorType: value.name, errorMessage: value.message, code: value.code }, value);
    if (typeof value.stack === "string") fields.stack = value.stack.split("\n");
    return fields;
  };
  try {
    return "\t" + JSON.stringify(error, (_key, value) => withFields(value));
  } catch {
    return "\t" + JSON.stringify(toErrorPayload(error));
  }
}

// ---- Console: "<ISO time>\t<request id>\t<LEVEL>\t<message>", or JSON (src/LogPatch.js) ---------------
const LEVELS = {
  TRACE: { name: "TRACE", priority: 1 }, DEBUG: { name: "DEBUG", priority: 2 }, INFO: { name: "INFO", priority: 3 },
  WARN: { name: "WARN", priority: 4 }, ERROR: { name: "ERROR", priority: 5 }, FATAL: { name: "FATAL", priority: 6 },
};
const jsonLogFormat = (env.AWS_LAMBDA_LOG_FORMAT || "").toUpperCase() === "JSON";
let logError; // structuredConsole.logError: `Invoke Error`, `Uncaught Exception`, ...

function jsonErrorReplacer(_key, value) {
  if (value instanceof Error) {
    return Object.assign({
      errorType: value?.constructor?.name ?? "UnknownError",
      errorMessage: value.message,
      stackTrace: typeof value.stack === "string" ? value.stack.split("\n") : value.stack,
    }, value);
  }
  return value;
}

function formatJsonMessage(timestamp, level, params) {
  const result = { timestamp, level: level.name, requestId: currentRequestId };
  if (params.length === 1) {
    result.message = params[0];
    try {
      return JSON.stringify(result, jsonErrorReplacer);
    } catch {
      result.message = util.format(result.message);
      return JSON.stringify(result);
    }
  }
  result.message = util.format(...params);
  for (const param of params) {
    if (param instanceof Error) {
      result.errorType = param?.constructor?.name ?? "UnknownError";
      result.errorMessage = param.message;
      result.stackTrace = typeof param.stack === "string" ? param.stack.split("\n") : [];
      break;
    }
  }
  return JSON.stringify(result);
}

function patchConsole() {
  const write = jsonLogFormat
    ? (level, args) => process.stdout.write(`${formatJsonMessage(new Date().toISOString(), level, args)}\n`)
    : (level, args) => process.stdout.write(`${new Date().toISOString()}\t${currentRequestId}\t${level.name}\t${util.format(...args)}\n`);
  const threshold = LEVELS[(env.AWS_LAMBDA_LOG_LEVEL || "").toUpperCase()] ?? LEVELS.TRACE;
  const method = (level) => (level.priority >= threshold.priority ? (...args) => write(level, args) : () => {});
  console.trace = method(LEVELS.TRACE);
  console.debug = method(LEVELS.DEBUG);
  console.info = method(LEVELS.INFO);
  console.log = console.info;
  console.warn = method(LEVELS.WARN);
  console.error = method(LEVELS.ERROR);
  console.fatal = (...args) => write(LEVELS.FATAL, args);
  logError = jsonLogFormat
    ? (_message, error) => console.error(intoError(error))
    : (message, error) => console.error(message, toFormatted(intoError(error)));
}

// ---- Handler resolution (_HANDLER = "dir/file.export"; src/UserFunction.js) ------------------------
const runtimeRequire = createRequire(import.meta.url);

function folderHasTypeModule(folder) {
  // The nearest package.json decides; a node_modules folder ends the search (as AWS's client does).
  if (folder.endsWith("/node_modules")) return false;
  const candidate = path.join(folder, "/package.json");
  if (fs.existsSync(candidate)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(candidate));
      if (pkg) return pkg.type === "module";
    } catch (error) {
      console.warn(`${candidate} cannot be read, it will be ignored for ES module detection purposes.`, error);
      return false;
    }
  }
  if (folder === "/") return false;
  return folderHasTypeModule(path.resolve(folder, ".."));
}

function hasTypeModule(file) {
  const js = `${file}.js`;
  return fs.existsSync(js) ? folderHasTypeModule(path.resolve(path.dirname(js))) : false;
}

async function loadModule(appRoot, moduleRoot, module) {
  const file = path.resolve(appRoot, moduleRoot, module);
  const requireFile = (suffix) => (fs.existsSync(file + suffix) ? runtimeRequire(file + suffix) : undefined);
  const importFile = async (suffix) => (fs.existsSync(file + suffix) ? import(pathToFileURL(file + suffix).href) : undefined);
  const extensionless = requireFile("");
  if (extensionless) return extensionless;
  const typeModule = hasTypeModule(file);
  if (!typeModule) {
    const loaded = requireFile(".js");
    if (loaded) return loaded;
  }
  const loaded = (typeModule && (await importFile(".js"))) || (await importFile(".mjs")) || requireFile(".cjs");
  if (loaded) return loaded;
  return runtimeRequire(runtimeRequire.resolve(module, { paths: [appRoot, moduleRoot] }));
}

async function loadHandler() {
  const appRoot = env.LAMBDA_TASK_ROOT || process.cwd();
  const full = env._HANDLER || "";
  if (full.includes("..")) {
    throw new NamedError("Runtime.MalformedHandlerName", `'${full}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`);
  }
  const moduleAndHandler = path.basename(full);
  const moduleRoot = full.substring(0, full.indexOf(moduleAndHandler));
  const match = moduleAndHandler.match(/^([^.]*)\.(.*)$/);
  if (!match) throw new NamedError("Runtime.MalformedHandlerName", "Bad handler");
  const [, module, exportPath] = match;
  let loaded;
  try {
    loaded = await loadModule(appRoot, moduleRoot, module);
  } catch (error) {
    if (error instanceof SyntaxError) throw new NamedError("Runtime.UserCodeSyntaxError", String(error), error);
    if (error && error.code === "MODULE_NOT_FOUND") throw new NamedError("Runtime.ImportModuleError", String(error));
    throw error;
  }
  const handler = exportPath.split(".").reduce((nested, key) => nested && nested[key], loaded);
  if (!handler) throw new NamedError("Runtime.HandlerNotFound", `${full} is undefined or not exported`);
  if (typeof handler !== "function") throw new NamedError("Runtime.HandlerNotFound", `${full} is not a function`);
  if (handler.length >= 3 && runtimeMajor() >= 24) {
    // AWS's nodejs24.x runtime refuses callback-based handlers at init (it counts formal parameters).
    throw new NamedError("Runtime.CallbackHandlerDeprecated", "ERROR: AWS Lambda has removed support for callback-based function handlers starting with Node.js 24. You need to modify this function to use a supported handler signature to use Node.js 24 or later. For more information see https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.");
  }
  return handler;
}

function isAsyncFunction(handler) {
  try {
    return Boolean(handler && handler.constructor && handler.constructor.name === "AsyncFunction");
  } catch {
    return false;
  }
}

/** src/WarningForCallbackHandlers.js: a callback handler (three parameters, not async) is warned about at init. */
function warnOfCallbackHandler(handler) {
  if (env.AWS_LAMBDA_NODEJS_DISABLE_CALLBACK_WARNING === undefined && handler.length === 3 && !isAsyncFunction(handler)) {
    console.warn("AWS Lambda plans to remove support for callback-based function handlers starting with Node.js 24. You will need to update this function to use an async handler to use Node.js 24 or later. For more information and to provide feedback on this change, see https://github.com/aws/aws-lambda-nodejs-runtime-interface-client/issues/137. To disable this warning, set the AWS_LAMBDA_NODEJS_DISABLE_CALLBACK_WARNING environment variable.");
  }
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

// ---- One invocation (src/Runtime.js, src/CallbackContext.js) -----------------------------------------
// A returned promise settles the invocation at once (a rejection with no reason fails with "handled");
// context.done/succeed/fail answer at once; callback(error) answers at once, callback(null, result) once the event
// loop is empty unless callbackWaitsForEmptyEventLoop is false; only the first of these counts. When the event loop
// empties with no answer, an async handler fails with Runtime.NodeJsExit (its promise never settled) and any other
// handler answers null; either way the environment stays for the next invocation.
const NO_OP = () => {};
let beforeExitListener = NO_OP; // one process listener, installed before the function's code loads

function runHandler(handler, isAsync, event, context) {
  return new Promise((resolve) => {
    let completed = false;
    let finished = false;
    let waitForEmptyEventLoop = true;
    const postError = (error) => resolve({ error });
    const complete = (result) => {
      if (completed) {
        console.error("Invocation has already been reported as done. Cannot call complete more than once per invocation.");
        return;
      }
      completed = true;
      resolve({ result });
    };
    const callback = (error, result) => {
      beforeExitListener = NO_OP;
      if (error !== undefined && error !== null) postError(error);
      else if (!waitForEmptyEventLoop) complete(result);
      else beforeExitListener = () => setImmediate(() => complete(result));
    };
    const done = (error, result) => {
      beforeExitListener = NO_OP;
      if (error !== undefined && error !== null) postError(error);
      else complete(result);
    };
    const once = (fn) => (...args) => {
      if (!finished) {
        fn(...args);
        finished = true;
      }
    };
    Object.defineProperty(context, "callbackWaitsForEmptyEventLoop", {
      get: () => waitForEmptyEventLoop,
      set: (value) => { waitForEmptyEventLoop = value; },
      enumerable: true,
      configurable: true,
    });
    context.succeed = once((result) => done(null, result));
    context.fail = once((error) => (error === undefined || error === null ? done("handled") : done(error, null)));
    context.done = once(done);
    const wrappedCallback = once(callback);
    beforeExitListener = () => {
      completed = true;
      if (isAsync) postError(new NamedError("Runtime.NodeJsExit", NODEJS_EXIT_MESSAGE));
      else resolve({ result: null });
    };
    try {
      const returned = handler(event, context, wrappedCallback);
      if (returned && returned.then && typeof returned.then === "function") {
        returned.then(context.succeed, context.fail).catch(context.fail);
      }
    } catch (error) {
      wrappedCallback(error);
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

function serialise(result) {
  try {
    return Buffer.from(JSON.stringify(result === undefined ? null : result));
  } catch {
    return undefined;
  }
}

let invocationId; // set once invocations run: a crash then fails the current one, before that the init

async function crash(error, code) {
  const where = invocationId ? `/invocation/${invocationId}/error` : "/init/error";
  await postError(where, error).catch(() => {});
  process.exit(code);
}

/** src/index.mjs: the console, the crash handlers and the beforeExit listener, then the function's code. */
async function init() {
  patchConsole();
  process.on("uncaughtException", (error) => {
    logError("Uncaught Exception", error);
    crash(error, 129);
  });
  process.on("unhandledRejection", (reason, promise) => {
    const error = Object.assign(new NamedError("Runtime.UnhandledPromiseRejection", String(reason)), { reason, promise });
    logError("Unhandled Promise Rejection", error);
    crash(error, 128);
  });
  beforeExitListener = NO_OP;
  process.on("beforeExit", () => beforeExitListener());
  const handler = await loadHandler(); // a failure is the init error (uncaughtException: a top-level await)
  warnOfCallbackHandler(handler);
  return handler;
}

async function serve(handler) {
  const isAsync = isAsyncFunction(handler);
  let polled = call("GET", "/invocation/next");
  for (;;) {
    const next = await polled;
    if (next.status !== 200) {
      process.stderr.write(`runtime API /next answered ${next.status}: ${next.body}\n`);
      process.exit(1);
    }
    const requestId = next.headers["lambda-runtime-aws-request-id"];
    currentRequestId = requestId;
    invocationId = requestId;
    if (next.headers["lambda-runtime-trace-id"]) env._X_AMZN_TRACE_ID = next.headers["lambda-runtime-trace-id"];
    else delete env._X_AMZN_TRACE_ID;
    let outcome;
    try {
      const event = next.body.length ? JSON.parse(next.body.toString("utf8")) : null;
      outcome = await runHandler(handler, isAsync, event, makeContext(next.headers));
    } catch (error) {
      outcome = { error };
    }
    beforeExitListener = NO_OP;
    let body;
    if (!("error" in outcome)) {
      body = serialise(outcome.result);
      if (body === undefined) outcome = { error: new Error("Unable to stringify response body") };
    }
    await outputWritten();
    let answer;
    if ("error" in outcome) {
      logError("Invoke Error", outcome.error);
      answer = errorRequest(`/invocation/${requestId}/error`, outcome.error);
    } else {
      // A 413 (payload too large) is turned into the invocation's error by the Runtime API itself.
      answer = ["POST", `/invocation/${requestId}/response`, body, { "Content-Type": "application/json" }];
    }
    // the answer and the next poll in one write (see RuntimeApiConnection)
    let answered;
    [answered, polled] = runtimeApi.pipeline([answer, ["GET", "/invocation/next"]]);
    await answered;
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

if (env.LAMBDA_CANARY_CHECK_HANDLERS === "1") {
  checkHandlers();
} else {
  serve(await init()).catch((error) => {
    console.log(`Unexpected Top Level Error: ${error}`);
    crash(error, 129);
  });
}
