// Usage: node --openssl-legacy-provider s3rver-run-closing.cjs <port> <dataDir> <s3rverModuleDir>
// tests/helpers/s3rver-run.cjs (same arguments, same s3rver 3.7.1) with one leak closed for
// the refresh rows (bench/refresh_s3rver.ts): s3rver's GET Object controller
// (lib/controllers/object.js) has its store open the object's read stream, then answers a
// matching If-None-Match or If-Modified-Since with 304 and returns without destroying the
// stream, so every 304 keeps a file descriptor until the process exits. A v1 refresh of N
// repositories is N 304s; the hard limit of open files here is 20000 and cannot be raised
// (no CAP_SYS_RESOURCE), so 100k could never run. This wraps the controller: whatever
// stream the store opened for a request and the answer did not send is destroyed. Nothing
// else about s3rver changes (routes, store, answers are its own).
"use strict";
const [, , , , mod] = process.argv;
if (!mod) {
  console.error("usage: s3rver-run-closing.cjs <port> <dataDir> <s3rverModuleDir>");
  process.exit(2);
}
const objectCtrl = require(mod + "/lib/controllers/object");
const getObject = objectCtrl.getObject;
// routes.js calls objectCtrl.getObject(ctx) per request, so replacing the export suffices.
objectCtrl.getObject = async function getObjectClosing(ctx) {
  const store = ctx.store;
  let opened;
  // Shadow the shared store on this request's context only, to see the object it returns.
  ctx.store = Object.create(store, {
    getObject: {
      value: async (...args) => (opened = await store.getObject(...args)),
    },
  });
  try {
    return await getObject(ctx);
  } finally {
    ctx.store = store;
    const stream = opened && opened.content;
    if (stream && ctx.body !== stream && !stream.destroyed) stream.destroy();
  }
};
require(require("path").join(__dirname, "../tests/helpers/s3rver-run.cjs"));
