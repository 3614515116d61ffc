"""Conformance of the Node runtime client with AWS's own: github.com/aws/aws-lambda-nodejs-runtime-interface-client.

Source: that repository at commit da5777a8963928cac4f6f93d88d6928262f6bd2a (v3.3.0, 2025-08-13). `handlers/` is its
`test/handlers/` copied unchanged (Apache-2.0, see handlers/NOTICE); `invocation/index.js` holds the invocation
behaviours its sources define (each case names the file). Each case states what AWS's unit tests expect
(`test/unit/*Test.js`, quoted by test title) and runs for real: a Node process per case on the process backend,
through the Runtime API, on Node 18 and Node 22; with AWS's client built here (`lambda-canary runtimes
install-client aws`) the same cases run on it too, so the expectations are checked against the client they
were written for. One service per runtime and client runs every case (a few at a time) and the tests read its
outcomes.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from emulator import aio
from emulator.formats.load import load_config
from emulator.lambda_service.backends.process import ProcessBackend
from emulator.lambda_service.loader import records_from_config
from emulator.lambda_service.model import InvocationResult
from emulator.lambda_service.service import LambdaService
from emulator.runtimes.aws_client import aws_client_dir

HERE = Path(__file__).resolve().parent
HANDLERS = "handlers"
UNIT = "test/unit/UserFunctionTest.js"
ERRORS = "test/unit/ErrorsTest.js"
LOGS = "test/unit/LogPatchTest.js"
ECHO = "This is a echo test"  # UserFunctionTest.js's echoTestMessage
RUNTIMES = ("nodejs18.x", "nodejs22.x")
NODEJS_EXIT = ("The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a "
               "Promise that was never settled. For more information, see "
               "https://nodejs.org/docs/latest/api/process.html#exit-codes")
CALLBACK_ANSWER = {"statusCode": 200, "body": json.dumps({"message": "hello world"}, separators=(",", ":"))}
CALLBACK_WARNING = "AWS Lambda plans to remove support for callback-based function handlers starting with Node.js 24."
CONSOLE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t(\S+)\t([A-Z]+)\t(.*)$", re.S)


@dataclass
class Observed:
    """What a case's invocations answered and the lines its function wrote."""

    results: list[InvocationResult]
    lines: list[str]

    @property
    def result(self) -> InvocationResult:
        return self.results[0]

    def console(self, level: str | None = None) -> list[tuple[str, str, str]]:
        """The function's console lines as (request id, level, message)."""
        found = [match.groups() for line in self.lines if (match := CONSOLE.match(line))]
        return [item for item in found if level is None or item[1] == level]


Check = Callable[[Observed], None]


@dataclass(frozen=True)
class Case:
    """One behaviour: where the code is, the handler, what AWS's tests (or sources) say must happen."""

    id: str
    root: str
    handler: str
    source: str
    check: Check
    event: Any = ECHO
    environment: dict[str, str] = field(default_factory=dict)
    invocations: int = 1
    timeout: int = 3
    # What npm's aws-lambda-ric 3.3.0 (a5ae1c2, 2025-05-22, the release `install-client aws` builds: the newer
    # 4.x needs Node >= 22) does where the repository changed since: 2a37745 and 1ab9990 (2025-07-16) added the
    # callback-handler warning and Runtime.NodeJsExit for an async handler whose promise never settles.
    aws_release: Check | None = None


# ---- expectations ---------------------------------------------------------------------------------------------
def answers(expected: Any) -> Check:
    def check(seen: Observed) -> None:
        result = seen.result
        assert result.function_error is None, result.payload[:2000]
        assert json.loads(result.payload) == expected
    return check


def fails(error_type: str, message: str | re.Pattern[str], *, init: bool = False,
          trace: Callable[[list[str]], bool] | None = None) -> Check:
    """A function error of that type; `init`: reported by the init phase (the invoke's Init Duration says so)."""
    def check(seen: Observed) -> None:
        result = seen.result
        assert result.function_error == "Unhandled", result.payload[:2000]
        error = json.loads(result.payload)
        assert error["errorType"] == error_type, error
        if isinstance(message, str):
            assert error["errorMessage"] == message, error
        else:
            assert message.search(error["errorMessage"]), error
        if trace is not None:
            assert trace(error.get("trace")), error
        if init:  # the client logged the failure of its init as AWS's does (src/index.mjs)
            logged = [message for _, _, message in seen.console("ERROR") if message.startswith("Uncaught Exception")]
            assert logged and json.loads(logged[0].split("\t", 1)[1])["errorType"] == error_type, seen.lines
    return check


def loads_sync(seen: Observed) -> None:
    """AWS's test calls the loaded handler (`() => 42`) itself; through the runtime, a handler that is not async
    and returns a plain value without calling back answers null (src/Runtime.js, _setDefaultExitListener)."""
    answers(None)(seen)


def both(*checks: Check) -> Check:
    def check(seen: Observed) -> None:
        for one in checks:
            one(seen)
    return check


def syntax_error(seen: Observed) -> None:
    fails("Runtime.UserCodeSyntaxError", re.compile(r"^SyntaxError: "), init=True)(seen)


def reference_error(pattern: str) -> Check:
    return fails("ReferenceError", re.compile(pattern), init=True)


def invoke_error_logged(error_type: str, **fields: Any) -> Check:
    """The `Invoke Error` line: ERROR, the error as Errors.toFormatted writes it (a tab, then JSON)."""
    def check(seen: Observed) -> None:
        logged = [message for _, _, message in seen.console("ERROR") if message.startswith("Invoke Error ")]
        assert len(logged) == 1, seen.lines
        assert logged[0].startswith("Invoke Error \t")
        record = json.loads(logged[0].split("\t", 1)[1])
        assert record["errorType"] == error_type
        for key, value in fields.items():
            assert record[key] == value, record
    return check


def stays(seen: Observed) -> None:
    """The environment lived on: the second invocation ran warm (no Init Duration) in the same process."""
    second = seen.results[1]
    assert second.function_error is None, second.payload
    assert second.init_duration_ms is None
    assert json.loads(second.payload) == {"invocations": 2}


def restarts(seen: Observed) -> None:
    """The runtime exited with the failure: the next invocation is a cold start."""
    second = seen.results[1]
    assert second.init_duration_ms is not None


def console_levels(expected: list[tuple[str, str]]) -> Check:
    """(level, message) of each `at ...` line, in order, each tagged with the invocation's request id."""
    def check(seen: Observed) -> None:
        lines = [(rid, level, message) for rid, level, message in seen.console() if message.startswith("at ")]
        assert [(level, message) for _, level, message in lines] == expected, seen.lines
        assert all(rid == seen.result.request_id for rid, _, _ in lines)
    return check


ALL_LEVELS = [("TRACE", "at trace"), ("DEBUG", "at debug"), ("INFO", "at info"), ("INFO", "at log"),
              ("WARN", "at warn"), ("ERROR", "at error"), ("FATAL", "at fatal")]


def json_console(seen: Observed) -> None:
    records = [json.loads(line) for line in seen.lines if line.startswith("{")]
    request_id = seen.result.request_id
    assert [record["level"] for record in records] == ["INFO", "INFO", "ERROR", "WARN"], seen.lines
    for record in records:
        assert record["requestId"] == request_id
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["timestamp"])
    assert records[0]["message"] == "formatted text 42"
    assert records[1]["message"] == {"structured": True}  # "should not strinfigy single arg"
    assert records[2]["message"]["errorType"] == "RangeError"  # "should use custom serializer for single arg ..."
    assert records[2]["message"]["errorMessage"] == "logged error"
    assert records[2]["message"]["stackTrace"][0] == "RangeError: logged error"
    assert records[3]["message"].startswith("with an error RangeError: logged error")
    assert records[3]["errorType"] == "RangeError"  # "should add error fields to messages if error is supplied"
    assert records[3]["errorMessage"] == "logged error"


def callback_warning(seen: Observed) -> None:
    warnings = [message for _, level, message in seen.console("WARN") if message.startswith(CALLBACK_WARNING)]
    assert len(warnings) == 1, seen.lines


def no_callback_warning(seen: Observed) -> None:
    assert not any(CALLBACK_WARNING in line for line in seen.lines), seen.lines


def logs_lines(*expected: str) -> Check:
    def check(seen: Observed) -> None:
        messages = [message for _, _, message in seen.console()]
        for text in expected:
            assert text in messages, seen.lines
    return check


# ---- the cases ------------------------------------------------------------------------------------------------
def _resolution(id: str, root: str, handler: str, test: str, check: Check, event: Any = ECHO) -> Case:
    return Case(id, f"{HANDLERS}/{root}".rstrip("/"), handler, f"{UNIT}: {test}", check, event)


RESOLUTION = [
    _resolution("load-core-echo", "", "core.echo", "should successfully load a user function", answers(ECHO)),
    _resolution("load-nested-object", "", "nestedHandler.nested.somethingComplex.handler",
                "should successfully load a user function nested in an object", answers("something interesting")),
    Case("load-module-path", ".", "handlers/nestedHandler.nested.somethingComplex.handler",
         f"{UNIT}: should successfully load a user function with a path to the module",
         answers("something interesting")),
    _resolution("malformed-dotdot", "", "malformed..handler",
                "should throw a MalformedHandlerName error if the handler string contains '..'",
                fails("Runtime.MalformedHandlerName", "'malformed..handler' is not a valid handler name. Use absolute "
                      "paths when specifying root directories in handler names.", init=True)),
    _resolution("malformed-no-dot", "", "malformedHandler",
                "should throw a MalformedHandlerName error if the handler string does not contain a dot",
                fails("Runtime.MalformedHandlerName", "Bad handler", init=True)),
    _resolution("import-module-error", "", "noModule.echo",
                "should throw a ImportModuleError error if the module does not exists",
                fails("Runtime.ImportModuleError", re.compile(r"^Error: Cannot find module 'noModule'\nRequire stack:"),
                      init=True)),
    _resolution("handler-not-found", "", "nestedHandler.nested.somethingComplex.nonHandler",
                "should throw a HandlerNotFound error if the handler does not exists",
                fails("Runtime.HandlerNotFound",
                      "nestedHandler.nested.somethingComplex.nonHandler is undefined or not exported", init=True)),
    _resolution("handler-not-a-function", "", "nestedHandler.nested",
                "should throw a HandlerNotFound error if the handler is not a function (here: an object)",
                fails("Runtime.HandlerNotFound", "nestedHandler.nested is not a function", init=True)),
    _resolution("esm-mjs", "", "esModule.echo",
                "should successfully load a user function in an ES module in a file with .mjs extension",
                answers(ECHO)),
    _resolution("cjs-cjs", "", "cjsModule.echo",
                "should successfully load a user function CommonJS module in a file with .cjs extension",
                answers(ECHO)),
    _resolution("precedence-extensionless", "", "precedence.handler",
                "should default to load the cjs module without extension", answers("I don't have a .js file suffix")),
    _resolution("precedence-js-over-mjs", "", "precedenceJsVsMjs.handler",
                "should default to load the .js file over the .mjs module", answers("I do have a .js file suffix")),
    _resolution("precedence-mjs-over-cjs", "", "precedenceMjsVsCjs.handler",
                "should default to load the .mjs file over the .cjs module", answers("I do have a .mjs file suffix")),
    _resolution("async-init", "", "asyncInit.handler", "should support init", answers("Hi")),
    _resolution("async-init-package", "async_init_package", "index.handler",
                "should support init in .js files in packages using the module type", answers("Hi")),
    # AWS's test loads from async_init_package/nested and finds the package.json above it; a function's code is
    # copied on its own (as Lambda unpacks it into /var/task), so the package is the code and the path nested.
    _resolution("async-init-nested", "async_init_package", "nested/index.handler",
                "should support init in .js files in packages using the module type, nested", answers(42)),
    _resolution("async-init-nested-more", "async_init_package/nested/even/more", "index.handler",
                "should support init in .js files in packages using the module type, nested even more", loads_sync),
    _resolution("async-init-module-root", "async_init_package/nested", "even/more/index.handler",
                "should support init in .js files in packages using the module type, nested even more + moduleRoot",
                loads_sync),
    _resolution("type-not-module", "async_init_type_not_module", "index.ret42",
                "should use commonjs when package.json cannot be read", loads_sync),
    _resolution("node-modules-stops-search", "async_init_with_node_modules", "node_modules/index.ret42",
                "should use commonjs when node_modules is reached before package.json", loads_sync),
    _resolution("async-init-rejection", "", "asyncInitRejection.handler",
                "should bubble up rejections occurred during init as errors",
                fails("AsyncInitRejectionException", "Oh noes! something bad happened", init=True)),
    _resolution("cjs-in-esm-package", "async_init_package", "cjsModuleInEsmPackage.echo",
                "should not load a CommonJS module if the package has the module type defined",
                reference_error(r"exports is not defined in ES module scope")),
    _resolution("default-export-cjs", "", "defaultHandler.default",
                "should successfully load a user function exported as 'default'", loads_sync),
    _resolution("default-export-esm", "", "defaultHandlerESM.default",
                "should successfully load a user function exported as 'default', esm", loads_sync),
    _resolution("esm-imports", "", "esModuleImports.echo",
                "should successfully load a user function that uses different import styles, esm",
                both(answers("moon"), logs_lines("can import node module: yes+yes", "<Buffer 79 65 73>", "42")),
                event="moon"),
    _resolution("extensionless-cjs", "extensionless", "index.handler",
                "should successfully load a CJS handler from extensionless file (no package.json)",
                answers("Hello from extensionless CJS")),
    _resolution("extensionless-type-cjs", "pkg/type-cjs", "cjs.handler",
                "should load CJS handler from extensionless file with type:commonjs",
                answers("Hello from extensionless CJS")),
    _resolution("extensionless-type-esm", "pkg/type-esm", "cjs.handler",
                "should load CJS handler from extensionless file with type:module",
                answers("Hello from extensionless CJS")),
    _resolution("js-type-cjs", "pkg/type-cjs", "cjsModule.handler",
                "should load CJS handler from JS file with type:commonjs", answers("Hello from CJS.js")),
    _resolution("esm-js-type-cjs", "pkg/type-cjs", "esmModule.handler",
                "should fail to load ESM handler from JS file with type:commonjs", syntax_error),
    _resolution("js-type-esm", "pkg/type-esm", "esmModule.handler",
                "should load ESM handler from JS file with type:module", answers("Hello from ESM.js")),
    _resolution("cjs-js-type-esm", "pkg/type-esm", "cjsModule.handler",
                "should fail to load CJS handler from JS file with type:module",
                reference_error(r"module is not defined in ES module scope")),
    _resolution("cjs-in-mjs", "pkg-less", "cjsInMjs.handler",
                "should fail to load CJS handler from MJS file without type context",
                reference_error(r"module is not defined in ES module scope")),
    _resolution("esm-in-cjs", "pkg-less", "esmInCjs.handler",
                "should fail to load ESM handler from CJS file without type context", syntax_error),
    _resolution("esm-import-cjs", "pkg-less", "esmImportCjs.handler",
                "should successfully load ESM handler importing from CJS", answers("Hello from CJS!")),
    _resolution("cjs-import-esm", "pkg-less", "cjsImportESM.handler",
                "should fail when CJS tries to import from ESM using static import", syntax_error),
    _resolution("cjs-import-cjs", "pkg-less", "cjsImportCjs.handler",
                "should successfully load CJS handler importing from CJS", answers("Hello from CJS!")),
    _resolution("require-in-mjs", "pkg-less", "esmRequireCjs.handler", "should fail when using require in .mjs",
                reference_error(r"require is not defined in ES module scope")),
]

CALLBACKS = "src/CallbackContext.js"
RUNTIME = "src/Runtime.js"
ERRORS_SRC = "src/Errors.js"
INVOCATION: list[Case] = [
    Case("context-succeed", "invocation", "index.succeedAtOnce", f"{CALLBACKS}: succeed -> done -> complete at once",
         answers({"answered": "succeed"})),
    Case("context-done", "invocation", "index.doneAtOnce", f"{CALLBACKS}: done(null, result) completes at once",
         answers({"answered": "done"})),
    Case("context-fail", "invocation", "index.failAtOnce", f"{CALLBACKS}: fail(error) posts the error at once",
         both(fails("RangeError", "failed through context.fail"), invoke_error_logged("RangeError"))),
    Case("context-fail-nothing", "invocation", "index.failWithNothing", f"{CALLBACKS}: fail() is done('handled')",
         fails("string", "handled", trace=lambda trace: trace == [])),
    Case("callback-error-at-once", "invocation", "index.callbackErrorAtOnce",
         f"{CALLBACKS}: callback(error) posts at once, whatever callbackWaitsForEmptyEventLoop",
         both(fails("TypeError", "callback error", trace=lambda trace: trace[0] == "TypeError: callback error"),
              callback_warning),
         aws_release=both(fails("TypeError", "callback error"), no_callback_warning)),
    Case("callback-no-wait", "invocation", "index.callbackNoWait",
         f"{CALLBACKS}: callbackWaitsForEmptyEventLoop = false completes at once", answers({"waits": False})),
    Case("callback-waits", "invocation", "index.callbackWaits",
         f"{CALLBACKS}: callback(null, result) completes when the event loop is empty", answers({"timerFired": True})),
    Case("only-first-call", "invocation", "index.onlyTheFirstCounts",
         f"{CALLBACKS}: _wrappedCallbackContext, only the first call of any callback counts", answers("first")),
    Case("before-exit-true-flag", HANDLERS, "beforeExitBehaviour.callbackWithTrueFlag",
         f"{CALLBACKS} + test/handlers/beforeExitBehaviour.js: the function's own beforeExit listeners run",
         both(answers("hello"), logs_lines("from process.nextTick", "from setImmediate"))),
    Case("before-exit-false-flag", HANDLERS, "beforeExitBehaviour.callbackWithFalseFlag",
         f"{CALLBACKS} + test/handlers/beforeExitBehaviour.js", answers("hello")),
    Case("before-exit-async", HANDLERS, "beforeExitBehaviour.asyncFunction",
         f"{RUNTIME} + test/handlers/beforeExitBehaviour.js", both(answers("hello"), no_callback_warning)),
    Case("async-never-settles", "invocation", "index.asyncNeverSettles",
         f"{RUNTIME}: _setDefaultExitListener, an async handler fails with NodeJsExit; "
         f"{ERRORS}: NodeJsExit error ctor", both(fails("Runtime.NodeJsExit", NODEJS_EXIT),
                                                  invoke_error_logged("Runtime.NodeJsExit"), stays), invocations=2,
         aws_release=both(answers(None), stays)),
    Case("sync-never-settles", "invocation", "index.syncNeverSettles",
         f"{RUNTIME}: _setDefaultExitListener, a handler not declared async answers null", answers(None)),
    Case("sync-return-value", "invocation", "index.syncReturnsValue",
         f"{RUNTIME}: a returned plain value is not the answer; the empty loop answers null", answers(None)),
    Case("rejects-with-nothing", "invocation", "index.rejectsWithNothing",
         f"{RUNTIME}: result.then(succeed, fail); {CALLBACKS}: fail(undefined) is done('handled')",
         both(fails("string", "handled", trace=lambda trace: trace == []),
              invoke_error_logged("Error", errorMessage="handled"))),
    Case("throws-string", "invocation", "index.throwsString", f"{ERRORS_SRC}: toRapidResponse of a non-error",
         fails("string", "a plain string", trace=lambda trace: trace == [])),
    Case("throws-object", "invocation", "index.throwsObject", f"{ERRORS_SRC}: toRapidResponse of a non-error",
         fails("object", "[object Object]", trace=lambda trace: trace == [])),
    Case("throws-error-like", "invocation", "index.throwsErrorLike", f"{ERRORS_SRC}: _isError (name, message, stack)",
         fails("LooksLikeAnError", "not an Error instance",
               trace=lambda trace: trace == ["LooksLikeAnError: not an Error instance", "    at somewhere"])),
    Case("custom-error", "invocation", "index.customError",
         f"{ERRORS_SRC}: toRapidResponse and toFormatted (own fields in the log line)",
         both(fails("CustomError", "a custom error", trace=lambda trace: trace[0] == "CustomError: a custom error"),
              invoke_error_logged("CustomError", errorMessage="a custom error", code="E_CUSTOM",
                                  detail={"retry": False}))),
    Case("circular-error", "invocation", "index.circularError",
         f"{ERRORS}: should fall back to a minimal error format when an exception occurs",
         both(fails("CircularError", "custom message", trace=lambda trace: trace[0] == "CircularError: custom message"),
              invoke_error_logged("CircularError", errorMessage="custom message"),
              lambda seen: _logged_error_has_trace(seen))),
    Case("invalid-header-char", "invocation", "index.invalidHeaderChar", f"{ERRORS}: Invalid chars in HTTP header",
         fails("ErrorWithInvalidChar", "%7F")),
    Case("circular-result", "invocation", "index.circularResult",
         "src/RAPIDClient.js: _trySerializeResponse", fails("Error", "Unable to stringify response body")),
    Case("uncaught-exception", "invocation", "index.uncaught",
         f"{RUNTIME}: _setErrorCallbacks, the error itself is posted and the runtime exits (129)",
         both(fails("SyntaxError", "thrown from a timer"), restarts,
              lambda seen: any("Uncaught Exception" in line for line in seen.lines) or pytest.fail(str(seen.lines))),
         invocations=2),
    Case("unhandled-rejection", "invocation", "index.unhandledRejection",
         f"src/index.mjs + {ERRORS_SRC}: UnhandledPromiseRejection(reason), the runtime exits (128)",
         both(fails("Runtime.UnhandledPromiseRejection", "Error: nobody catches this"), restarts), invocations=2),
    Case("callback-warning", HANDLERS, "isAsyncCallback.handler",
         "test/unit/WarningForCallbackHandlersTest.js + src/WarningForCallbackHandlers.js",
         both(answers(CALLBACK_ANSWER), callback_warning),
         aws_release=both(answers(CALLBACK_ANSWER), no_callback_warning)),
    Case("no-warning-for-async", HANDLERS, "isAsync.handlerAsync", "test/unit/IsAsyncTest.js",
         both(answers({"statusCode": 200, "body": '"Hello from Lambda!"'}), no_callback_warning)),
    Case("console-levels", "invocation", "index.consoleLevels",
         f"{LOGS}: Each console.* method should include a level value",
         console_levels(ALL_LEVELS)),
    Case("console-level-filter", "invocation", "index.consoleLevels", f"{LOGS}: should filter messages correctly",
         console_levels(ALL_LEVELS[4:]), environment={"AWS_LAMBDA_LOG_LEVEL": "WARN"}),
    Case("console-json", "invocation", "index.consoleJson", f"{LOGS}: Structured logging", json_console,
         environment={"AWS_LAMBDA_LOG_FORMAT": "JSON"}),
]


def _logged_error_has_trace(seen: Observed) -> None:
    logged = [message for _, _, message in seen.console("ERROR") if message.startswith("Invoke Error ")]
    record = json.loads(logged[0].split("\t", 1)[1])
    assert set(record) == {"errorType", "errorMessage", "trace"}, record  # the minimal format, not `stack`
    assert record["trace"][0] == "CircularError: custom message"


CASES = RESOLUTION + INVOCATION
INVALID_BY_CONFIG = {"malformed-no-dot"}  # the config refuses it; the Lambda API (and AWS) accept it


# ---- running every case once per runtime and client -------------------------------------------------------------
def run_cases(runtime: str, client: str, tmp: Path) -> dict[str, Observed]:
    """Every case on one runtime and client: one service, its functions invoked a few at a time."""
    functions = {}
    for case in CASES:
        handler = "placeholder.handler" if case.id in INVALID_BY_CONFIG else case.handler
        functions[case.id] = {"runtime": runtime, "handler": handler, "code": str((HERE / case.root).resolve()),
                              "timeout": case.timeout, "environment": case.environment}
    config = tmp / "canary.yaml"
    config.write_text(yaml.safe_dump({"backend": "process", "functions": functions}, sort_keys=False))
    lines: dict[str, list[str]] = {case.id: [] for case in CASES}

    async def main() -> dict[str, Observed]:
        service = LambdaService(ProcessBackend(runtime_client=client), lambda name, line: lines[name].append(line))
        for record in records_from_config(load_config(config)):
            if record.name in INVALID_BY_CONFIG:
                handler = next(case.handler for case in CASES if case.id == record.name)
                record.latest = replace(record.latest, handler=handler)
            service.put_function(record)
        gate = asyncio.Semaphore(6)

        async def one(case: Case) -> Observed:
            async with gate:
                results = [await service.invoke(case.id, json.dumps(case.event).encode())
                           for _ in range(case.invocations)]
            return Observed(results, lines[case.id])

        try:
            observed = await asyncio.wait_for(asyncio.gather(*(one(case) for case in CASES)), 240)
        finally:
            await service.close()
        return dict(zip((case.id for case in CASES), observed, strict=True))

    return aio.run(main())


def _sides() -> list[Any]:
    """(client, runtime) pairs; AWS's client where it is built here."""
    missing = pytest.mark.skip(reason="AWS's aws-lambda-ric is not built here: `lambda-canary runtimes install-client "
                                      "aws` builds it (npm, node-gyp, make, cmake, g++, autoconf, automake, libtool)")
    return [pytest.param((client, runtime), id=f"{client}-{runtime}",
                         marks=[missing] if client == "aws" and aws_client_dir() is None else [])
            for client in ("lambda-canary", "aws") for runtime in RUNTIMES]


@pytest.fixture(scope="module", params=_sides())
def observed(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Observed]]:
    client, runtime = request.param
    return client, run_cases(runtime, client, tmp_path_factory.mktemp("runtime-client"))


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_case(observed: tuple[str, dict[str, Observed]], case: Case) -> None:
    """The case behaves as AWS's client and its tests say (the case's `source`); AWS's npm release where it
    predates the repository's commit (`aws_release`)."""
    client, outcomes = observed
    check = case.aws_release if client == "aws" and case.aws_release is not None else case.check
    check(outcomes[case.id])
