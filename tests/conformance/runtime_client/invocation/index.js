// Invocation behaviours of AWS's Node runtime interface client, one export per case
// (github.com/aws/aws-lambda-nodejs-runtime-interface-client @ da5777a8963928cac4f6f93d88d6928262f6bd2a;
// each case in test_runtime_client_conformance.py names the file it follows).
'use strict';

let invocations = 0;

// A timer that never ends: an answer that waited for the empty event loop would never come (the function's
// timeout would end it), so these show which answers go at once (src/CallbackContext.js).
const forever = () => setInterval(() => {}, 1000);

exports.succeedAtOnce = (_event, context) => {
  forever();
  context.succeed({ answered: 'succeed' });
};

exports.doneAtOnce = (_event, context) => {
  forever();
  context.done(null, { answered: 'done' });
};

exports.failAtOnce = (_event, context) => {
  forever();
  context.fail(new RangeError('failed through context.fail'));
};

exports.failWithNothing = (_event, context) => {
  context.fail();
};

exports.callbackErrorAtOnce = (_event, _context, callback) => {
  forever(); // callbackWaitsForEmptyEventLoop is true, but an error is posted at once
  callback(new TypeError('callback error'));
};

exports.callbackNoWait = (_event, context, callback) => {
  forever();
  context.callbackWaitsForEmptyEventLoop = false;
  callback(null, { waits: context.callbackWaitsForEmptyEventLoop });
};

exports.callbackWaits = (_event, context, callback) => {
  const state = { timerFired: false };
  setTimeout(() => { state.timerFired = true; }, 50);
  callback(null, state); // serialised when the loop is empty: after the timer
};

exports.onlyTheFirstCounts = (_event, context, callback) => {
  context.succeed('first');
  context.fail(new Error('second'));
  context.done(null, 'third');
  callback(null, 'fourth');
};

exports.asyncNeverSettles = async () => {
  invocations += 1;
  if (invocations === 1) return new Promise(() => {});
  return { invocations };
};

exports.syncNeverSettles = () => new Promise(() => {});

exports.syncReturnsValue = () => 'ignored';

exports.rejectsWithNothing = async () => {
  throw undefined; // eslint-disable-line no-throw-literal
};

exports.throwsString = async () => {
  throw 'a plain string'; // eslint-disable-line no-throw-literal
};

exports.throwsObject = async () => {
  throw { some: 'object' }; // eslint-disable-line no-throw-literal
};

exports.throwsErrorLike = async () => {
  throw { name: 'LooksLikeAnError', message: 'not an Error instance', stack: 'LooksLikeAnError: not an Error instance\n    at somewhere' }; // eslint-disable-line no-throw-literal
};

class CustomError extends Error {
  constructor(message) {
    super(message);
    this.name = 'CustomError';
    this.code = 'E_CUSTOM';
    this.detail = { retry: false };
  }
}

exports.customError = async () => {
  throw new CustomError('a custom error');
};

exports.circularError = async () => {
  // test/unit/ErrorsTest.js, "should fall back to a minimal error format when an exception occurs"
  const error = new Error('custom message');
  error.name = 'CircularError';
  error.backlink = error;
  throw error;
};

exports.invalidHeaderChar = async () => {
  // test/unit/ErrorsTest.js, "Invalid chars in HTTP header"
  const error = new Error('\x7F');
  error.name = 'ErrorWithInvalidChar';
  throw error;
};

exports.circularResult = async () => {
  const result = { name: 'loop' };
  result.self = result;
  return result;
};

exports.uncaught = async () => {
  setTimeout(() => { throw new SyntaxError('thrown from a timer'); }, 0);
  return new Promise(() => {});
};

exports.unhandledRejection = async () => {
  Promise.reject(new Error('nobody catches this'));
  return new Promise((resolve) => setTimeout(resolve, 5000));
};

exports.consoleLevels = async () => {
  console.trace('at trace');
  console.debug('at debug');
  console.info('at info');
  console.log('at log');
  console.warn('at warn');
  console.error('at error');
  console.fatal('at fatal');
  return 'logged';
};

exports.consoleJson = async () => {
  console.log('formatted %s %d', 'text', 42);
  console.info({ structured: true });
  const error = new RangeError('logged error');
  console.error(error);
  console.warn('with an error', error);
  return 'logged';
};

exports.invocationCount = async () => {
  invocations += 1;
  return { invocations };
};
