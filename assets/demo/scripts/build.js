// The demo's build: copies each lib from libs/ into the build output, as a
// real build would compile it. Plain node, no packages. Like nx, it starts
// by deleting its output: devloop keeps that from reaching dist/libs.
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..");
const out = path.join(root, "tmp/libs-out");
fs.rmSync(out, { recursive: true, force: true });
for (const lib of fs.readdirSync(path.join(root, "libs"))) {
  const from = path.join(root, "libs", lib);
  const to = path.join(out, lib);
  fs.mkdirSync(to, { recursive: true });
  for (const file of fs.readdirSync(from)) {
    const source = fs.readFileSync(path.join(from, file), "utf8");
    fs.writeFileSync(path.join(to, file), `// built from libs/${lib}/${file}\n${source}`);
  }
  console.log(`built ${lib}`);
}
