// SPDX-License-Identifier: MIT
// A local S3-compatible server for edge's forwarder tests: s3rver (checks SigV4 signatures with the
// key pair S3RVER / S3RVER) on 127.0.0.1:<port>, objects stored under <dir>, with the buckets named
// on the command line created empty. Prints "ready <port>" on stdout once it listens.
// usage: node server.js <port> <dir> <bucket>...
'use strict';
const S3rver = require('@20minutes/s3rver');

const [port, directory, ...buckets] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(port),
  directory,
  silent: true,
  allowMismatchedSignatures: false,
  configureBuckets: buckets.map((name) => ({ name, configs: [] })),
});
server.run().then(
  (addr) => console.log('ready ' + addr.port),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
