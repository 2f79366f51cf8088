//! Invalid operator settings are clear errors, not panics: the real `parallax` binary is
//! started with each bad value, as a flag, as its `PARALLAX_*` variable and as a
//! `parallax.toml` key, and must exit at once with status 2 and a message saying what is
//! accepted.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Every numeric setting of `serve`: flag, variable, toml key, and values it must refuse.
const CASES: &[(&str, &str, &str, &[&str])] = &[
    (
        "--body-timeout-seconds",
        "PARALLAX_BODY_TIMEOUT_SECONDS",
        "body_timeout_seconds",
        &["-1", "0", "NaN", "inf", "1e9"],
    ),
    (
        "--fetch-per-host",
        "PARALLAX_FETCH_PER_HOST",
        "fetch_per_host",
        &["-1", "0", "257", "1.5"],
    ),
    (
        "--max-run-seconds",
        "PARALLAX_MAX_RUN_SECONDS",
        "max_run_seconds",
        &["-1", "0", "NaN", "inf", "1e300"],
    ),
    (
        "--webhook-retry-seconds",
        "PARALLAX_WEBHOOK_RETRY_SECONDS",
        "webhook_retry_seconds",
        &["-1", "0", "NaN", "-inf", "1e9"],
    ),
    (
        "--lease-seconds",
        "PARALLAX_LEASE_SECONDS",
        "lease_seconds",
        &["-1", "0", "1.5", "99999999999999999999"],
    ),
    (
        "--concurrency",
        "PARALLAX_CONCURRENCY",
        "concurrency",
        &["-1", "0", "100000"],
    ),
    (
        "--input-cache-mib",
        "PARALLAX_INPUT_CACHE_MIB",
        "input_cache_mib",
        &["-1", "18446744073709551615"],
    ),
    (
        "--max-body-bytes",
        "PARALLAX_MAX_BODY_BYTES",
        "max_body_bytes",
        &["-1", "0", "99999999999"],
    ),
    (
        "--llm-timeout-seconds",
        "PARALLAX_LLM_TIMEOUT_SECONDS",
        "llm_timeout_seconds",
        &["-1", "0", "86400"],
    ),
    (
        "--fetch-timeout-seconds",
        "PARALLAX_FETCH_TIMEOUT_SECONDS",
        "fetch_timeout_seconds",
        &["-1", "0", "86400"],
    ),
    (
        "--cache-max-age-seconds",
        "PARALLAX_CACHE_MAX_AGE_SECONDS",
        "cache_max_age_seconds",
        &["-1", "1e3", "999999999999"],
    ),
];

fn temp_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("parallax-flags-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `parallax serve` on a free port in a fresh directory, with no `PARALLAX_*` from outside.
fn serve(dir: &PathBuf, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_parallax"));
    command
        .current_dir(dir)
        .arg("serve")
        .args(["--search", "local", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.join("data"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (var, _) in std::env::vars() {
        if var.starts_with("PARALLAX_") {
            command.env_remove(var);
        }
    }
    command.envs(env.iter().copied());
    command
}

/// Waits for the process to exit (killing it after a while); returns its status and stderr.
fn finish(mut child: Child) -> (Option<i32>, String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status, stderr)
}

fn assert_refused(what: &str, status: Option<i32>, stderr: &str, flag: &str) {
    assert!(!stderr.contains("panicked"), "{what}: panicked:\n{stderr}");
    assert_eq!(
        status,
        Some(2),
        "{what}: must exit 2 at once, got {status:?}:\n{stderr}"
    );
    assert!(
        stderr.contains(flag) && stderr.contains("must be a") && stderr.contains(" from "),
        "{what}: the message names the flag and what it accepts:\n{stderr}"
    );
}

#[test]
fn bad_flags_are_refused_with_what_is_accepted() {
    let dir = temp_dir();
    for (flag, _, _, values) in CASES {
        for value in *values {
            let child = serve(&dir, &[flag, value], &[]).spawn().unwrap();
            let (status, stderr) = finish(child);
            assert_refused(&format!("{flag} {value}"), status, &stderr, flag);
        }
    }
}

#[test]
fn bad_environment_variables_are_refused_and_named() {
    let dir = temp_dir();
    for (flag, var, _, values) in CASES {
        for value in *values {
            let child = serve(&dir, &[], &[(var, value)]).spawn().unwrap();
            let (status, stderr) = finish(child);
            assert_refused(&format!("{var}={value}"), status, &stderr, flag);
            assert!(
                stderr.contains(&format!("came from the environment variable {var}")),
                "{stderr}"
            );
        }
    }
}

#[test]
fn bad_file_settings_are_refused_and_named() {
    let dir = temp_dir();
    for (flag, _, key, values) in CASES {
        let value = values[0];
        std::fs::write(dir.join("parallax.toml"), format!("{key} = {value}\n")).unwrap();
        let child = serve(&dir, &[], &[]).spawn().unwrap();
        let (status, stderr) = finish(child);
        assert_refused(
            &format!("{key} = {value} in parallax.toml"),
            status,
            &stderr,
            flag,
        );
        assert!(
            stderr.contains(&format!("came from {key} in parallax.toml")),
            "{stderr}"
        );
    }
}

#[test]
fn the_edges_of_each_range_are_accepted() {
    let dir = temp_dir();
    let args = [
        "--max-run-seconds",
        "0.1",
        "--body-timeout-seconds",
        "0.1",
        "--fetch-per-host",
        "256",
        "--webhook-retry-seconds",
        "0.01",
        "--lease-seconds",
        "1",
        "--concurrency",
        "1",
        "--input-cache-mib",
        "0",
        "--max-body-bytes",
        "1",
        "--llm-timeout-seconds",
        "3600",
        "--fetch-timeout-seconds",
        "600",
        "--cache-max-age-seconds",
        "0",
    ];
    let mut child = serve(&dir, &args, &[]).spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    // stdout closes only when the process exits, so a refused start ends this loop too.
    while !String::from_utf8_lossy(&seen).contains("listening on") && Instant::now() < deadline {
        match stdout.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    let started = String::from_utf8_lossy(&seen).contains("listening on");
    child.kill().unwrap();
    let (_, stderr) = finish(child);
    assert!(
        started,
        "the server must start:\n{}\n{stderr}",
        String::from_utf8_lossy(&seen)
    );
}

/// `--log-format` and `--metrics` take a word from a closed set: anything else stops the
/// start with status 2 and the accepted values, from a flag, a variable or the file alike.
#[test]
fn bad_log_format_and_metrics_values_are_refused() {
    let dir = temp_dir();
    let refused = |what: &str, child: Child, accepted: &str| {
        let (status, stderr) = finish(child);
        assert!(!stderr.contains("panicked"), "{what}: panicked:\n{stderr}");
        assert_eq!(status, Some(2), "{what}: must exit 2 at once:\n{stderr}");
        assert!(
            stderr.contains(accepted),
            "{what}: names {accepted}:\n{stderr}"
        );
        stderr
    };
    let child = serve(&dir, &["--log-format", "yaml"], &[]).spawn().unwrap();
    refused("--log-format yaml", child, "[possible values: text, json]");
    let child = serve(&dir, &["--metrics=maybe"], &[]).spawn().unwrap();
    refused("--metrics=maybe", child, "[possible values: true, false]");
    let child = serve(&dir, &[], &[("PARALLAX_LOG_FORMAT", "xml")])
        .spawn()
        .unwrap();
    let stderr = refused("PARALLAX_LOG_FORMAT=xml", child, "text, json");
    assert!(
        stderr.contains("came from the environment variable PARALLAX_LOG_FORMAT"),
        "{stderr}"
    );
    std::fs::write(dir.join("parallax.toml"), "metrics = \"sometimes\"\n").unwrap();
    let child = serve(&dir, &[], &[]).spawn().unwrap();
    let stderr = refused("metrics = \"sometimes\"", child, "true, false");
    assert!(
        stderr.contains("came from metrics in parallax.toml"),
        "{stderr}"
    );
}
