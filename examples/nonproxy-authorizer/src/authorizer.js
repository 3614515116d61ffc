// A TOKEN authorizer: `Authorization: allow` gets an Allow for every method of the stage, `deny` an explicit
// Deny, anything else "Unauthorized" (401). The context reaches $context.authorizer in the request template.
exports.handler = async (event, context) => {
  const token = event.authorizationToken;
  if (token !== "allow" && token !== "deny") {
    throw new Error("Unauthorized");
  }
  const [head, stage] = event.methodArn.split("/");
  return {
    principalId: "example-user",
    policyDocument: {
      Version: "2012-10-17",
      Statement: [{ Action: "execute-api:Invoke", Effect: token === "allow" ? "Allow" : "Deny",
                    Resource: `${head}/${stage}/*` }],
    },
    context: { authorizer: context.functionName, node: process.version },
  };
};
