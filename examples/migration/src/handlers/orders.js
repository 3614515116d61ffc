// An "orders" handler moving from Node 18 to Node 22, with three kinds of change underneath it:
// an API that Node 18 lacks, a deprecation Node 22 warns about, and defaults that changed.
const http = require("http");
const { Readable } = require("stream");

const json = (statusCode, body) => ({
  statusCode,
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify(body),
});

exports.handler = async (event) => {
  switch (event.resource) {
    case "/orders": {
      const orders = [{ id: 3, total: 30 }, { id: 1, total: 10 }, { id: 2, total: 20 }];
      // Array.prototype.toSorted arrived in Node 20: on Node 18 this line throws a TypeError.
      return json(200, { orders: orders.toSorted((a, b) => a.id - b.id) });
    }
    case "/domains/{name}": {
      // The punycode module is runtime-deprecated since Node 21 (DEP0040): Node 22 writes a DeprecationWarning.
      const punycode = require("punycode");
      return json(200, { ascii: punycode.toASCII(event.pathParameters.name) });
    }
    case "/defaults":
      return json(200, {
        node: process.version,
        // Node 19 made the global HTTP agent keep connections alive; Node 22 raised streams' buffer to 64 KiB.
        keepAlive: http.globalAgent.keepAlive,
        highWaterMark: new Readable().readableHighWaterMark,
      });
    default:
      return json(404, { message: "no such route" });
  }
};
