#!/usr/bin/env node
// Starts @vercel/cosmosdb-server for the contract tests, with one fix: in 1.0.1 a point read
// of a missing document crashes the handler (HTTP 500) instead of answering 404 as Cosmos DB
// does. The fix wraps that handler before the routes table is built; nothing else changes.
"use strict";
const handler = require("@vercel/cosmosdb-server/lib/handler/read-document");
const original = handler.default;
handler.default = (account, req, res, params) => {
  try {
    return original(account, req, res, params);
  } catch (error) {
    if (error instanceof TypeError) {
      res.statusCode = 404;
      return { code: "NotFound", message: "Entity with the specified id does not exist in the system." };
    }
    throw error;
  }
};
const { createHttpsServer } = require("@vercel/cosmosdb-server");
const port = parseInt(process.argv[process.argv.indexOf("--port") + 1], 10);
const server = createHttpsServer().listen(port, "127.0.0.1", () => {
  console.log(`cosmosdb-server listening on 127.0.0.1:${server.address().port}`);
});
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
