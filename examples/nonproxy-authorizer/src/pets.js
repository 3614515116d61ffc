// A non-proxy (integration: lambda) handler: the event is what the request template rendered, and what it
// returns (or throws) goes through the integration responses. `id` 0 throws "Not found: 0", which the
// selectionPattern "Not found.*" maps to a 404.
exports.handler = async (event, context) => {
  if (event.id === "0") {
    throw new Error(`Not found: ${event.id}`);
  }
  return {
    id: event.id,
    name: `pet ${event.id}`,
    caller: event.caller,
    node: process.version,
    function: context.functionName,
  };
};
