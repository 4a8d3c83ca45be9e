#!/usr/bin/env node
// Starts @vercel/cosmosdb-server for the contract tests, as strict as Cosmos DB where it was
// not: (1) in 1.0.1 a point read of a missing document crashes the handler (HTTP 500) instead
// of answering 404; (2) it stores items of any size, where Cosmos DB refuses an item over
// 2 MB with 413 RequestEntityTooLarge (learn.microsoft.com/azure/cosmos-db/concepts-limits);
// (3) its transactional batch keeps the operations before a failed one, where Cosmos DB's is
// all or nothing (the others answered 424 Failed Dependency), and takes any number of
// operations and bytes, where Cosmos DB takes at most 100 operations and 2 MB.
// The fixes wrap handlers before the routes table is built; nothing else changes.
"use strict";
const MAX_ITEM_BYTES = 2 * 1024 * 1024;
const operations = require("@vercel/cosmosdb-server/lib/handler/_document-operations");
let journal = null; // during an atomic batch: what each write replaced, to undo on failure
for (const name of ["createOperation", "replaceOperation", "upsertOperation"]) {
  const operation = operations[name];
  operations[name] = (collection, input) => {
    const size = input.resourceBody ? Buffer.byteLength(JSON.stringify(input.resourceBody), "utf8") : 0;
    if (size > MAX_ITEM_BYTES) {
      return { statusCode: 413, body: { code: "RequestEntityTooLarge", message: "Message: {\"Errors\":[\"Request size is too large\"]}" } };
    }
    const body = input.resourceBody || {};
    const partition = body.id === undefined ? undefined : collection.documents._getPartition(body);
    const before = journal && body.id !== undefined ? collection.document(body.id, partition).read() : null;
    const result = operation(collection, input);
    if (journal && result.statusCode < 300) journal.push({ collection, id: body.id, partition, before });
    return result;
  };
}
const batch = require("@vercel/cosmosdb-server/lib/handler/batch-documents");
const readJson = require("@vercel/cosmosdb-server/lib/json").default;
const runBatch = batch.default;
const batchOperations = { Create: "createOperation", Upsert: "upsertOperation", Replace: "replaceOperation", Read: "readOperation", Delete: "deleteOperation" };
batch.default = async (account, req, res, params) => {
  const atomic = String(req.headers["x-ms-cosmos-batch-atomic"] || "").toLowerCase() === "true";
  if (!atomic) return runBatch(account, req, res, params);
  const body = await readJson(req);
  const collection = account.database(params.dbId).collection(params.collId);
  if (!collection.read()) {
    res.statusCode = 404;
    return {};
  }
  if (!Array.isArray(body)) {
    res.statusCode = 400;
    return { message: "Invalid request body" };
  }
  if (Buffer.byteLength(JSON.stringify(body), "utf8") > MAX_ITEM_BYTES) {
    // A batch request is bounded like an item: 2 MB (learn.microsoft.com/azure/cosmos-db/concepts-limits).
    res.statusCode = 413;
    return { code: "RequestEntityTooLarge", message: "Message: {\"Errors\":[\"Request size is too large\"]}" };
  }
  if (body.length > 100) {
    // Cosmos DB's limit for a transactional batch (learn.microsoft.com/azure/cosmos-db/concepts-limits).
    res.statusCode = 400;
    return { code: "BadRequest", message: "Batch request has more operations than what is supported." };
  }
  // From here on synchronous: no other request runs between an operation and its undoing.
  journal = [];
  const results = [];
  try {
    for (const input of body) {
      const operation = operations[batchOperations[input && input.operationType]];
      if (!operation) {
        results.push({ statusCode: 400, requestCharge: 0 });
        break;
      }
      // A transactional batch names its partition once, in the request's header.
      const result = operation(collection, { partitionKey: req.headers["x-ms-documentdb-partitionkey"], ...input });
      if (result.statusCode >= 400) {
        results.push({ statusCode: result.statusCode, requestCharge: 0 });
        break;
      }
      results.push({ statusCode: result.statusCode, requestCharge: 1, eTag: result.body ? result.body._etag : undefined, resourceBody: result.body });
    }
    if (!results.some((r) => r.statusCode >= 400)) return results;
    for (const { collection: written, id, partition, before } of journal.reverse()) {
      const now = written.document(id, partition).read();
      if (before) written.documents.replace(before, now);
      else if (now) written.documents.delete(id, partition);
    }
    while (results.length < body.length) results.push({ statusCode: 424, requestCharge: 0 });
    return results.map((r) => (r.statusCode < 400 ? { statusCode: 424, requestCharge: 0 } : r));
  } finally {
    journal = null;
  }
};
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
