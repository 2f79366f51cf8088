//! `parallax run`, end to end: the real binary asks a real `parallax serve` (or the server it
//! embeds) over loopback HTTP, and what it prints, its exit status and what it leaves behind
//! are checked against the server's own answers. Nothing needs the internet; the scripted
//! processor (feature `scripted`) makes runs that sleep or fail on request.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The longest any one command may take before the test kills it and fails.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "parallax-run-test-{name}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The `parallax` binary with no `PARALLAX_*` from outside, run in `dir`, whose `tmp` folder
/// is its temporary directory (so a test can see what it leaves there).
fn parallax(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_parallax"));
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    command
        .current_dir(dir)
        .env("TMPDIR", &tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (var, _) in std::env::vars() {
        if var.starts_with("PARALLAX_") {
            command.env_remove(var);
        }
    }
    command
}

/// What a finished command did.
#[derive(Debug)]
struct Finished {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Reads a pipe to its end on a thread of its own, line by line, into a channel.
fn lines(pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}

/// A running command whose output is collected as it comes.
struct Running {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
    stdout_seen: Vec<String>,
    stderr_seen: Vec<String>,
}

impl Running {
    fn spawn(mut command: Command) -> Running {
        let mut child = command.spawn().unwrap();
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        Running {
            child,
            stdout,
            stderr,
            stdout_seen: Vec::new(),
            stderr_seen: Vec::new(),
        }
    }

    fn drain(&mut self) {
        self.stdout_seen.extend(self.stdout.try_iter());
        self.stderr_seen.extend(self.stderr.try_iter());
    }

    /// Waits until a line of stderr contains `text`; panics after a while.
    // Used by the scripted tests only.
    #[cfg_attr(not(feature = "scripted"), allow(dead_code))]
    fn wait_for_stderr(&mut self, text: &str) {
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        while Instant::now() < deadline {
            self.drain();
            if self.stderr_seen.iter().any(|l| l.contains(text)) {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                self.drain();
                panic!(
                    "exited ({status}) before printing {text:?}:\n{}",
                    self.stderr_seen.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "no {text:?} on stderr in time:\n{}",
            self.stderr_seen.join("\n")
        );
    }

    // Used by the scripted tests only.
    #[cfg_attr(not(feature = "scripted"), allow(dead_code))]
    fn interrupt(&self) {
        // SAFETY: sends a signal to our own child process.
        let sent = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        assert_eq!(sent, 0);
    }

    /// Waits for the exit (killing the process and failing past [`COMMAND_TIMEOUT`]).
    fn finish(mut self) -> Finished {
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                self.child.kill().unwrap();
                self.child.wait().unwrap();
                self.drain();
                panic!(
                    "still running after {COMMAND_TIMEOUT:?}:\n{}",
                    self.stderr_seen.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The pipes close at exit: read what is left.
        self.stdout_seen.extend(self.stdout.iter());
        self.stderr_seen.extend(self.stderr.iter());
        let finished = Finished {
            code: status.code(),
            stdout: self.stdout_seen.join("\n"),
            stderr: self.stderr_seen.join("\n"),
        };
        assert!(
            !finished.stderr.contains("panicked"),
            "panicked:\n{}",
            finished.stderr
        );
        finished
    }
}

fn run(dir: &Path, args: &[&str]) -> Finished {
    let mut command = parallax(dir);
    command.arg("run").args(args);
    Running::spawn(command).finish()
}

/// A `parallax serve` on a free loopback port, stopped (SIGTERM) when dropped.
struct Server {
    process: Running,
    url: String,
    key: String,
}

impl Server {
    fn start(dir: &Path, extra: &[&str]) -> Server {
        Server::start_on(dir, "127.0.0.1:0", extra)
    }

    /// A server listening on `listen`, with its data in `dir/data`.
    fn start_on(dir: &Path, listen: &str, extra: &[&str]) -> Server {
        let key = "px_run_test_key".to_owned();
        let mut command = parallax(dir);
        command
            .arg("serve")
            .args(["--listen", listen, "--data-dir"])
            .arg(dir.join("data"))
            .args(["--api-key", &key])
            .args(extra);
        let mut process = Running::spawn(command);
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        let url = loop {
            match process.stdout.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("parallax listening on ") {
                        break url.to_owned();
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
                Err(e) => {
                    process.drain();
                    panic!(
                        "the server did not start ({e}):\n{}",
                        process.stderr_seen.join("\n")
                    );
                }
            }
        };
        Server { process, url, key }
    }

    /// `parallax run --server URL --api-key KEY ARGS…` against this server.
    // Used by the scripted tests only.
    #[cfg_attr(not(feature = "scripted"), allow(dead_code))]
    fn ask(&self, dir: &Path, args: &[&str]) -> Finished {
        let mut all = vec![
            "--server",
            self.url.as_str(),
            "--api-key",
            self.key.as_str(),
        ];
        all.extend_from_slice(args);
        run(dir, &all)
    }

    /// `GET path` on the server with its key: status and body.
    // Used by the scripted tests only.
    #[cfg_attr(not(feature = "scripted"), allow(dead_code))]
    fn get(&self, path: &str) -> (u16, String) {
        let url = format!("{}{path}", self.url);
        let key = self.key.clone();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                let response = reqwest::Client::new()
                    .get(url)
                    .header("x-api-key", key)
                    .timeout(Duration::from_secs(90))
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                (status, response.text().await.unwrap())
            })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: sends a signal to our own child process.
        unsafe {
            libc::kill(self.process.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.process.child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = self.process.child.kill();
                let _ = self.process.child.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The first run id (`trun_…`) in `text`.
// Used by the scripted tests only.
#[cfg_attr(not(feature = "scripted"), allow(dead_code))]
fn run_id_in(text: &str) -> String {
    let start = text.find("trun_").expect("a run id");
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// Entries of a directory.
fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn a_wrong_key_is_refused_with_what_to_do() {
    let dir = temp_dir("wrong-key");
    let server = Server::start(&dir, &[]);
    let out = run(
        &dir,
        &[
            "--server",
            &server.url,
            "--api-key",
            "px_wrong",
            "a question",
        ],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr
            .contains("the server refused the API key; pass --api-key or set PARALLAX_API_KEY"),
        "{out:?}"
    );
    assert!(
        !out.stderr.contains("px_wrong"),
        "the key is never shown: {out:?}"
    );
    assert!(out.stdout.is_empty(), "{out:?}");
    // Without any key, nothing is sent: a usage error.
    let out = run(&dir, &["--server", &server.url, "a question"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("--api-key"), "{out:?}");
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    let dir = temp_dir("unreachable");
    // A port that was free a moment ago: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let out = run(&dir, &["--server", &url, "--api-key", "k", "a question"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr
            .contains(&format!("could not reach the server at {url}")),
        "{out:?}"
    );
    let out = run(
        &dir,
        &["--server", "ftp://x", "--api-key", "k", "a question"],
    );
    assert_eq!(out.code, Some(2), "{out:?}");
}

#[test]
fn a_bad_schema_file_is_refused_before_anything_is_sent() {
    let dir = temp_dir("bad-schema");
    // A listener that only records whether anyone connected.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::fs::write(dir.join("broken.json"), "{\"type\": ").unwrap();
    std::fs::write(dir.join("list.json"), "[1, 2]").unwrap();
    for (file, says) in [
        ("missing.json", "could not read the schema file"),
        ("broken.json", "is not valid JSON"),
        ("list.json", "must hold a JSON object"),
    ] {
        let path = dir.join(file);
        let out = run(
            &dir,
            &[
                "--server",
                &url,
                "--api-key",
                "k",
                "--schema",
                path.to_str().unwrap(),
                "q",
            ],
        );
        assert_eq!(out.code, Some(2), "{file}: {out:?}");
        assert!(
            out.stderr.contains(says) && out.stderr.contains(file),
            "{file}: {out:?}"
        );
        // Embedded: no server is started either (nothing would be left to remove).
        let out = run(&dir, &["--schema", path.to_str().unwrap(), "q"]);
        assert_eq!(out.code, Some(2), "{file}: {out:?}");
    }
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "nothing may be sent for a bad schema file"
    );
    assert!(entries(&dir.join("tmp")).is_empty());
}

#[test]
fn a_locked_data_dir_is_refused() {
    let dir = temp_dir("locked");
    let _server = Server::start(&dir, &[]);
    let data = dir.join("data");
    let out = run(&dir, &["--data-dir", data.to_str().unwrap(), "q"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("another parallax process is using"),
        "{out:?}"
    );
}

/// The real research pipeline in the embedded server, on a local index of fixture pages: the
/// answer cites one of them.
#[test]
fn embedded_research_answers_from_the_local_index() {
    let dir = temp_dir("research");
    let data = dir.join("data");
    let pages = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/web/wiki.example");
    let mut index = parallax(&dir);
    index
        .args(["index", "add", "--data-dir"])
        .arg(&data)
        .arg(&pages);
    let indexed = Running::spawn(index).finish();
    assert_eq!(indexed.code, Some(0), "{indexed:?}");
    let out = run(
        &dir,
        &[
            "--data-dir",
            data.to_str().unwrap(),
            "--search",
            "local",
            "--processor",
            "lite",
            "According to the 2018 census, what was the population of Quellmoor?",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("Sources for"), "{out:?}");
    assert!(
        out.stdout.contains("file://") && out.stdout.contains("wiki.example/Quellmoor.html"),
        "the answer cites the fixture page: {out:?}"
    );
    // Progress came from the run's own events.
    assert!(out.stderr.contains("[state] completed"), "{out:?}");
    assert!(out.stderr.contains("sources"), "{out:?}");
    // The data directory was the user's: it stays.
    assert!(data.join("parallax.db").exists());
}

#[cfg(feature = "scripted")]
mod scripted {
    use super::*;

    #[test]
    fn answers_with_progress_on_stderr() {
        let dir = temp_dir("answer");
        let server = Server::start(&dir, &["--scripted-processor"]);
        let out = server.ask(&dir, &["--processor", "lite", "what is up"]);
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(out.stdout.starts_with("echo: what is up\n"), "{out:?}");
        assert!(
            out.stdout
                .contains("output: no sources cited (confidence: low)"),
            "{out:?}"
        );
        for line in [
            "[plan] scripted: planning",
            "read 4 of 8 sources",
            "[result] scripted: done",
            "[state] completed",
        ] {
            assert!(out.stderr.contains(line), "{line:?} on stderr: {out:?}");
        }
        assert!(!out.stderr.contains(&server.key), "the key is never shown");
        // The key can come from the environment too.
        let mut command = parallax(&dir);
        command.env("PARALLAX_API_KEY", &server.key).args([
            "run",
            "--server",
            &server.url,
            "again",
        ]);
        let out = Running::spawn(command).finish();
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(out.stdout.starts_with("echo: again"), "{out:?}");
    }

    #[test]
    fn json_prints_the_result_exactly() {
        let dir = temp_dir("json");
        let server = Server::start(&dir, &["--scripted-processor"]);
        let schema = dir.join("schema.json");
        std::fs::write(
            &schema,
            r#"{"type":"object","properties":{"echo":{"type":"string"}}}"#,
        )
        .unwrap();
        let out = server.ask(
            &dir,
            &[
                "--schema",
                schema.to_str().unwrap(),
                "--json",
                "structured please",
            ],
        );
        assert_eq!(out.code, Some(0), "{out:?}");
        let printed: serde_json::Value = serde_json::from_str(&out.stdout).expect(&out.stdout);
        let run_id = printed["run"]["run_id"].as_str().unwrap();
        let (status, body) = server.get(&format!("/v1/tasks/runs/{run_id}/result"));
        assert_eq!(status, 200);
        let fetched: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(printed, fetched);
        // The JSON Schema was sent wrapped as a json output schema.
        assert_eq!(printed["output"]["type"], "json");
        assert_eq!(printed["output"]["content"]["echo"], "structured please");
        // Without --json, each field is `name: value`.
        let out = server.ask(&dir, &["--schema", schema.to_str().unwrap(), "fields"]);
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(out.stdout.starts_with("echo: fields\n"), "{out:?}");
    }

    #[test]
    fn a_failed_run_exits_1_with_its_error() {
        let dir = temp_dir("failed");
        let server = Server::start(&dir, &["--scripted-processor"]);
        let out = server.ask(
            &dir,
            &["--metadata", "scripted_fail=the sources disagree", "q"],
        );
        assert_eq!(out.code, Some(1), "{out:?}");
        assert!(
            out.stderr.contains("failed: the sources disagree"),
            "{out:?}"
        );
        assert!(out.stdout.is_empty(), "{out:?}");
        // A request the server refuses (422): its message is shown, exit 2.
        let out = server.ask(&dir, &["--processor", "nope", "q"]);
        assert_eq!(out.code, Some(2), "{out:?}");
        assert!(out.stderr.contains("the server answered"), "{out:?}");
    }

    #[test]
    fn ctrl_c_leaves_a_server_run_running() {
        let dir = temp_dir("interrupt");
        let server = Server::start(&dir, &["--scripted-processor"]);
        let mut command = parallax(&dir);
        command.args([
            "run",
            "--server",
            &server.url,
            "--api-key",
            &server.key,
            "--metadata",
            "scripted_sleep=3000",
            "slow one",
        ]);
        let mut running = Running::spawn(command);
        running.wait_for_stderr("[plan] scripted: planning");
        running.interrupt();
        let started = Instant::now();
        let out = running.finish();
        assert!(started.elapsed() < Duration::from_secs(5), "{out:?}");
        assert_eq!(out.code, Some(130), "{out:?}");
        assert!(out.stderr.contains("curl -H"), "{out:?}");
        assert!(!out.stderr.contains(&server.key), "the key is never shown");
        let run_id = run_id_in(&out.stderr);
        assert!(
            out.stderr
                .contains(&format!("{}/v1/tasks/runs/{run_id}/result", server.url)),
            "{out:?}"
        );
        // The run goes on on the server and completes.
        let (status, body) = server.get(&format!("/v1/tasks/runs/{run_id}/result?timeout=60"));
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("echo: slow one"), "{body}");
    }

    /// The server restarts mid-run: the event stream ends early, and the command waits for
    /// the result instead, riding out the time the server is down.
    #[test]
    fn a_broken_event_stream_falls_back_to_the_result() {
        let dir = temp_dir("restart");
        let server = Server::start(&dir, &["--scripted-processor"]);
        let listen = server.url.trim_start_matches("http://").to_owned();
        let mut command = parallax(&dir);
        command.args([
            "run",
            "--server",
            &server.url,
            "--api-key",
            &server.key,
            "--metadata",
            "scripted_sleep=2000",
            "survives a restart",
        ]);
        let mut running = Running::spawn(command);
        running.wait_for_stderr("[plan] scripted: planning");
        // A graceful stop queues the run again; the next start on the same data runs it.
        drop(server);
        let _restarted = Server::start_on(&dir, &listen, &["--scripted-processor"]);
        let out = running.finish();
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(
            out.stderr.contains("waiting for the result instead"),
            "{out:?}"
        );
        assert!(
            out.stdout.starts_with("echo: survives a restart\n"),
            "{out:?}"
        );
    }

    #[test]
    fn embedded_server_answers_and_leaves_nothing() {
        let dir = temp_dir("embedded");
        let out = run(
            &dir,
            &["--scripted-processor", "--processor", "lite", "hello"],
        );
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(out.stdout.starts_with("echo: hello\n"), "{out:?}");
        assert!(out.stderr.contains("[state] completed"), "{out:?}");
        assert!(
            entries(&dir.join("tmp")).is_empty(),
            "the temporary data directory is removed: {:?}",
            entries(&dir.join("tmp"))
        );
    }

    #[test]
    fn embedded_runs_on_a_data_dir_share_its_stored_key() {
        let dir = temp_dir("embedded-key");
        let data = dir.join("data");
        let data_arg = data.to_str().unwrap();
        let args = |input: &'static str| {
            vec![
                "--scripted-processor",
                "--search",
                "local",
                "--data-dir",
                data_arg,
                "--json",
                input,
            ]
        };
        let first = run(&dir, &args("one"));
        assert_eq!(first.code, Some(0), "{first:?}");
        let key_file = data.join("run-key");
        let key = std::fs::read_to_string(&key_file)
            .unwrap()
            .trim()
            .to_owned();
        assert!(key.starts_with("px_"), "{key}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the key file is its owner's alone");
        }
        let second = run(&dir, &args("two"));
        assert_eq!(second.code, Some(0), "{second:?}");
        assert_eq!(
            std::fs::read_to_string(&key_file).unwrap().trim(),
            key,
            "the second run reuses the key"
        );
        // Both runs belong to that key's tenant: a server on the directory finds them with it.
        let mut server = Server::start(&dir, &["--scripted-processor", "--search", "local"]);
        server.key = key;
        for out in [&first, &second] {
            let run_id = run_id_in(&out.stdout);
            let (status, body) = server.get(&format!("/v1/tasks/runs/{run_id}"));
            assert_eq!(status, 200, "{run_id}: {body}");
        }
    }

    #[test]
    fn ctrl_c_stops_an_embedded_server_cleanly() {
        let dir = temp_dir("embedded-interrupt");
        let mut command = parallax(&dir);
        command.args([
            "run",
            "--scripted-processor",
            "--metadata",
            "scripted_sleep=20000",
            "slow one",
        ]);
        let mut running = Running::spawn(command);
        running.wait_for_stderr("[plan] scripted: planning");
        running.interrupt();
        let out = running.finish();
        assert_eq!(out.code, Some(130), "{out:?}");
        assert!(out.stderr.contains("stops with this command"), "{out:?}");
        assert!(out.stderr.contains("trun_"), "{out:?}");
        assert!(entries(&dir.join("tmp")).is_empty());
    }
}
