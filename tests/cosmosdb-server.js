#!/usr/bin/env node
// Starts @vercel/cosmosdb-server for the contract tests, as strict as Cosmos DB where it was
// not: (1) in 1.0.1 a point read of a missing document crashes the handler (HTTP 500) instead
// of answering 404; (2) it stores items of any size, where Cosmos DB refuses an item over
// 2 MB with 413 RequestEntityTooLarge (learn.microsoft.com/azure/cosmos-db/concepts-limits).
// Both fixes wrap handlers before the routes table is built; nothing else changes.
"use strict";
const MAX_ITEM_BYTES = 2 * 1024 * 1024;
const operations = require("@vercel/cosmosdb-server/lib/handler/_document-operations");
for (const name of ["createOperation", "replaceOperation", "upsertOperation"]) {
  const operation = operations[name];
  operations[name] = (collection, input) => {
    const size = input.resourceBody ? Buffer.byteLength(JSON.stringify(input.resourceBody), "utf8") : 0;
    if (size > MAX_ITEM_BYTES) {
      return { statusCode: 413, body: { code: "RequestEntityTooLarge", message: "Message: {\"Errors\":[\"Request size is too large\"]}" } };
    }
    return operation(collection, input);
  };
}
const patches = require("@vercel/cosmosdb-server/lib/handler/_patch-operations");
const { parsePartitionKey } = require("@vercel/cosmosdb-server/lib/utils/get-partition-from-header");
const patchOperation = patches.patchOperation;
patches.patchOperation = (collection, input) => {
  // The server has no dry run: a patch whose result is over the limit is undone (the item's
  // content is restored) and answered 413, as Cosmos DB refuses it.
  const before = collection.document(input.id, parsePartitionKey(input.partitionKey, input.id)).read();
  const result = patchOperation(collection, input);
  if (result.statusCode < 300 && Buffer.byteLength(JSON.stringify(result.body || {}), "utf8") > MAX_ITEM_BYTES) {
    collection.documents.replace(before, result.body);
    return { statusCode: 413, body: { code: "RequestEntityTooLarge", message: "Message: {\"Errors\":[\"Request size is too large\"]}" } };
  }
  return result;
};
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
