// The demo web server: reads the libs from dist/libs on every request, so it
// never needs a restart; devloop's atomic promotion means it never finds
// dist/libs missing or half-written.
const http = require("http");
const path = require("path");

const dist = path.resolve(__dirname, "../../dist/libs");
const port = Number(process.env.PORT || 3000);

function fresh(lib) {
  const file = require.resolve(path.join(dist, lib));
  delete require.cache[file];
  return require(file);
}

http
  .createServer((req, res) => {
    if (req.url === "/api/health") {
      res.writeHead(200, { "content-type": "text/plain" });
      return res.end("ok\n");
    }
    try {
      const text = `${fresh("greeting").greeting("web")} The answer is ${fresh("numbers").answer}.`;
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(`<!doctype html><title>devloop demo</title><h1>${text}</h1>\n`);
    } catch (error) {
      // What nodemon + a deleting build would show half-way through a rebuild.
      console.error(`cannot load the libs: ${error.code || error.message}`);
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(`${error.code || error.message}\n`);
    }
  })
  .listen(port, "127.0.0.1", () => console.log(`web listening on http://127.0.0.1:${port}/`));
