//! Save -> promoted and save -> served, warm build against cold, in the same
//! run on the same nx workspace (tests/fixtures/nx-e2e: nx 23, @nx/js:tsc,
//! two libs): the cold build is `nx run-many -t build` once per change, the
//! warm one `nx run-many -t build --watch` started once (`persistent = true`).
//! An api server (node http) requires both libs from dist/libs on every
//! request; it is polled every 50 ms after each save until it serves the new
//! value, and every non-200 answer counts as an error.
//! Run: `cargo bench --bench warm` (node and npm needed; nx is installed
//! once into target/tmp/e2e-nx-cache, shared with tests/e2e_nx.rs).

#[path = "../tests/common/npm.rs"]
mod npm;
#[path = "../tests/common/nx.rs"]
mod nx;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const EDITS: u32 = 10;
const POLL: Duration = Duration::from_millis(50);
const SERVER: &str = r#"const http = require('http'), path = require('path'), Module = require('module');
const dist = path.join(__dirname, 'dist', 'libs');
http.createServer((req, res) => {
  for (const k of Object.keys(require.cache)) delete require.cache[k];
  for (const k of Object.keys(Module._pathCache)) delete Module._pathCache[k];
  try {
    const a = require(path.join(dist, 'alpha')), b = require(path.join(dist, 'beta'));
    res.end(`alpha=${a.ALPHA} beta=${b.BETA}`);
  } catch (e) { res.statusCode = 500; res.end(String(e.code || e.message)); }
}).listen(0, '127.0.0.1', function () { console.log('port ' + this.address().port); });
"#;

struct Row {
    name: &'static str,
    promoted: Vec<u128>,
    served: Vec<u128>,
    errors: u64,
    missed: u32,
}

fn main() {
    let Some(node_modules) = npm::installed(Path::new(nx::FIXTURE), "e2e-nx-cache", "nx") else {
        return;
    };
    let builds = [
        (
            "cold: nx run-many -t build, per change",
            "nx run-many --target=build --projects=alpha,beta --configuration=devloop --output-style=static",
            false,
        ),
        (
            "warm: nx run-many -t build --watch, persistent",
            "nx run-many --target=build --projects=alpha,beta --configuration=devloop --watch --output-style=stream",
            true,
        ),
    ];
    let mut rows = Vec::new();
    for (index, (name, command, warm)) in builds.into_iter().enumerate() {
        rows.push(run(
            name,
            command,
            warm,
            &node_modules,
            100 * (index as u32 + 1),
        ));
    }
    println!(
        "\n{EDITS} edits each, api polled every {} ms",
        POLL.as_millis()
    );
    println!(
        "| build | save -> promoted, median (min-max) | save -> served, median (min-max) | errors seen by the api | edits never served |"
    );
    println!("|---|---|---|---|---|");
    for row in rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            row.name,
            figure(row.promoted),
            figure(row.served),
            row.errors,
            row.missed
        );
    }
}

fn figure(mut ms: Vec<u128>) -> String {
    if ms.is_empty() {
        return "-".into();
    }
    ms.sort();
    format!("{} ms ({}-{})", ms[ms.len() / 2], ms[0], ms[ms.len() - 1])
}

fn run(name: &'static str, command: &str, warm: bool, node_modules: &Path, base: u32) -> Row {
    let dir = tempfile::tempdir().expect("temp dir");
    let ws = dir.path();
    npm::workspace_from(Path::new(nx::FIXTURE), ws, node_modules);
    std::fs::write(ws.join("server.js"), SERVER).unwrap();
    let persistent = if warm { "persistent = true\n" } else { "" };
    std::fs::write(
        ws.join("watch.toml"),
        format!(
            "[watch]\npaths = [\"libs\"]\ndebounce = \"100ms\"\n\n[build]\ncommand = \"{command}\"\noutput = \"tmp/libs-out\"\ntimeout = \"15s\"\n{persistent}\n[promote]\ntarget = \"dist/libs\"\nrequire = [\"alpha/src/index.js\", \"beta/src/index.js\"]\n"
        ),
    )
    .unwrap();
    eprintln!("warm bench: {name} in {}", ws.display());
    let mut devloop = Command::new(env!("CARGO_BIN_EXE_devloop"))
        .args(["--headless", "--json"])
        .current_dir(ws)
        .envs(nx::NX_ENV)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start devloop");
    let events = read_events(devloop.stdout.take().unwrap());
    wait_promoted(&events, Duration::from_secs(300)).expect("the first promotion");
    let mut server = Command::new("node")
        .arg("server.js")
        .current_dir(ws)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the api");
    let port = api_port(&mut server);
    // Nobody saves within a moment of starting: let the compilers settle.
    std::thread::sleep(Duration::from_secs(2));

    let mut row = Row {
        name,
        promoted: Vec::new(),
        served: Vec::new(),
        errors: 0,
        missed: 0,
    };
    for i in 1..=EDITS {
        let value = base + i;
        while events.try_recv().is_ok() {}
        let saved = Instant::now();
        std::fs::write(
            ws.join("libs/alpha/src/value.ts"),
            format!("export const ALPHA: number = {value};\n"),
        )
        .unwrap();
        let want = format!("alpha={value} ");
        let mut promoted = None;
        loop {
            if promoted.is_none()
                && let Some(at) = promoted_since(&events)
            {
                promoted = Some(at.duration_since(saved).as_millis());
            }
            match get(port) {
                Some((200, body)) if body.contains(&want) => break,
                Some((200, _)) => {}
                _ => row.errors += 1,
            }
            if saved.elapsed() > Duration::from_secs(90) {
                eprintln!("warm bench: edit {i} was never served");
                row.missed += 1;
                break;
            }
            std::thread::sleep(POLL);
        }
        if saved.elapsed() <= Duration::from_secs(90) {
            row.served.push(saved.elapsed().as_millis());
        }
        // The promotion may be reported a moment after the api served it.
        if promoted.is_none() {
            promoted = wait_promoted(&events, Duration::from_secs(10))
                .map(|at| at.duration_since(saved).as_millis());
        }
        row.promoted.extend(promoted);
        std::thread::sleep(Duration::from_millis(300));
    }
    let _ = server.kill();
    let _ = server.wait();
    unsafe { libc::kill(devloop.id() as i32, libc::SIGTERM) };
    let _ = devloop.wait();
    row
}

fn read_events(stdout: std::process::ChildStdout) -> mpsc::Receiver<(Instant, Value)> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(event) = serde_json::from_str::<Value>(&line)
                && tx.send((Instant::now(), event)).is_err()
            {
                return;
            }
        }
    });
    rx
}

fn promoted_since(events: &mpsc::Receiver<(Instant, Value)>) -> Option<Instant> {
    while let Ok((at, event)) = events.try_recv() {
        if event["event"] == "promoted" {
            return Some(at);
        }
    }
    None
}

fn wait_promoted(events: &mpsc::Receiver<(Instant, Value)>, limit: Duration) -> Option<Instant> {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok((at, event)) if event["event"] == "promoted" => return Some(at),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}

fn api_port(server: &mut Child) -> u16 {
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("the api's first line");
    line.trim()
        .trim_start_matches("port ")
        .parse()
        .expect("the api's port")
}

/// One GET: the status and body, or None when the connection failed.
fn get(port: u16) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    Some((status, body))
}
