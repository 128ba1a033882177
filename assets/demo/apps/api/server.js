// The demo API: loads the libs from dist/libs once, at start, as most servers
// do. devloop restarts it after each promotion (on_promote = "restart").
const http = require("http");
const path = require("path");

const dist = path.resolve(__dirname, "../../dist/libs");
const { greeting } = require(path.join(dist, "greeting"));
const { answer } = require(path.join(dist, "numbers"));
const port = Number(process.env.PORT || 3001);

http
  .createServer((req, res) => {
    if (req.url === "/api/health") {
      res.writeHead(200, { "content-type": "text/plain" });
      return res.end("ok\n");
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ greeting: greeting("api"), answer }) + "\n");
  })
  .listen(port, "127.0.0.1", () => console.log(`api listening on http://127.0.0.1:${port}/`));
