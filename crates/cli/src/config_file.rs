//! `parallax.toml`: the lowest layer of configuration (flags > environment > file).
//!
//! The file is read before the command line is parsed. Each key it sets becomes the
//! `PARALLAX_*` environment variable of the same name unless that variable is already set,
//! so clap's own environment fallback applies it, and a flag still wins. The file is
//! `./parallax.toml` if present, or the path in `PARALLAX_CONFIG`; an unknown key is an
//! error, so a typo never passes silently.

use anyhow::{bail, Context};
use std::path::PathBuf;

/// Keys a `parallax.toml` may set, with the environment variable each becomes.
pub(crate) const KEYS: &[(&str, &str)] = &[
    ("listen", "PARALLAX_LISTEN"),
    ("data_dir", "PARALLAX_DATA_DIR"),
    ("database_url", "PARALLAX_DATABASE_URL"),
    ("role", "PARALLAX_ROLE"),
    ("api_keys", "PARALLAX_API_KEYS"),
    ("max_body_bytes", "PARALLAX_MAX_BODY_BYTES"),
    ("body_timeout_seconds", "PARALLAX_BODY_TIMEOUT_SECONDS"),
    ("concurrency", "PARALLAX_CONCURRENCY"),
    ("findall_concurrency", "PARALLAX_FINDALL_CONCURRENCY"),
    ("monitor_concurrency", "PARALLAX_MONITOR_CONCURRENCY"),
    ("chat_concurrency", "PARALLAX_CHAT_CONCURRENCY"),
    (
        "monitor_clock_offset_seconds",
        "PARALLAX_MONITOR_CLOCK_OFFSET_SECONDS",
    ),
    ("lease_seconds", "PARALLAX_LEASE_SECONDS"),
    ("max_run_seconds", "PARALLAX_MAX_RUN_SECONDS"),
    ("input_cache_mib", "PARALLAX_INPUT_CACHE_MIB"),
    ("search", "PARALLAX_SEARCH"),
    ("searxng_url", "PARALLAX_SEARXNG_URL"),
    ("wikipedia_api", "PARALLAX_WIKIPEDIA_API"),
    ("llm_base_url", "PARALLAX_LLM_BASE_URL"),
    ("llm_model", "PARALLAX_LLM_MODEL"),
    ("llm_api_key", "PARALLAX_LLM_API_KEY"),
    ("llm_timeout_seconds", "PARALLAX_LLM_TIMEOUT_SECONDS"),
    ("allow_private_fetch", "PARALLAX_ALLOW_PRIVATE_FETCH"),
    ("fetch_timeout_seconds", "PARALLAX_FETCH_TIMEOUT_SECONDS"),
    ("fetch_per_host", "PARALLAX_FETCH_PER_HOST"),
    ("cache_max_age_seconds", "PARALLAX_CACHE_MAX_AGE_SECONDS"),
    ("webhook_retry_seconds", "PARALLAX_WEBHOOK_RETRY_SECONDS"),
    ("metrics", "PARALLAX_METRICS"),
    ("log_format", "PARALLAX_LOG_FORMAT"),
];

/// Environment variables the configuration file set, with the file's key and path.
#[derive(Debug, Default)]
pub struct FromFile {
    set: Vec<(&'static str, &'static str, PathBuf)>,
}

/// Reads the configuration file, if any, into the environment. Call before any thread starts.
pub fn apply() -> anyhow::Result<FromFile> {
    let (path, required) = match std::env::var_os("PARALLAX_CONFIG") {
        Some(path) => (PathBuf::from(path), true),
        None => (PathBuf::from("parallax.toml"), false),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
            return Ok(FromFile::default())
        }
        Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
    };
    let mut from_file = FromFile::default();
    for (var, value) in settings(&text).with_context(|| format!("in {}", path.display()))? {
        if std::env::var_os(var).is_none() {
            std::env::set_var(var, value);
            if let Some((key, _)) = KEYS.iter().find(|(_, v)| *v == var) {
                from_file.set.push((key, var, path.clone()));
            }
        }
    }
    Ok(from_file)
}

/// Where the value that `error` refuses came from, when it was not the command line: the
/// file's key or the environment variable. clap names only the flag.
pub fn source_of_bad_value(
    error: &clap::Error,
    command: &clap::Command,
    from_file: &FromFile,
) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !matches!(
        error.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        return None;
    }
    let Some(ContextValue::String(arg)) = error.get(ContextKind::InvalidArg) else {
        return None;
    };
    // "--max-run-seconds <MAX_RUN_SECONDS>", or "--metrics[=<METRICS>]" for an optional value
    let flag = arg
        .split(|c: char| c.is_whitespace() || c == '[' || c == '=')
        .next()?
        .strip_prefix("--")?;
    let on_command_line = std::env::args().any(|a| {
        a.strip_prefix("--")
            .is_some_and(|a| a == flag || a.starts_with(&format!("{flag}=")))
    });
    if on_command_line {
        return None;
    }
    let var = find_env(command, flag)?;
    Some(match from_file.set.iter().find(|(_, v, _)| *v == var) {
        Some((key, _, path)) => format!("{key} in {}", path.display()),
        None => format!("the environment variable {var}"),
    })
}

/// The environment variable of `--flag`, in any subcommand.
fn find_env(command: &clap::Command, flag: &str) -> Option<String> {
    command
        .get_arguments()
        .find(|a| a.get_long() == Some(flag))
        .and_then(|a| a.get_env())
        .map(|v| v.to_string_lossy().into_owned())
        .or_else(|| {
            command
                .get_subcommands()
                .find_map(|sub| find_env(sub, flag))
        })
}

/// The environment variables a file's text sets.
fn settings(text: &str) -> anyhow::Result<Vec<(&'static str, String)>> {
    let table: toml::Table = text.parse().context("not valid TOML")?;
    let mut out = Vec::new();
    for (key, value) in table {
        let Some((_, var)) = KEYS.iter().find(|(k, _)| *k == key) else {
            let known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
            bail!(
                "unknown setting {key:?}; known settings: {}",
                known.join(", ")
            );
        };
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => items
                .into_iter()
                .map(|item| match item {
                    toml::Value::String(s) => Ok(s),
                    other => bail!("{key} must be a list of strings, found {other}"),
                })
                .collect::<anyhow::Result<Vec<_>>>()?
                .join(","),
            other => bail!("{key} cannot be {other}"),
        };
        out.push((*var, text));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_keys_to_environment() {
        let mut got =
            settings("listen = \"0.0.0.0:9000\"\nconcurrency = 4\napi_keys = [\"a\", \"b\"]\n")
                .unwrap();
        got.sort();
        assert_eq!(
            got,
            vec![
                ("PARALLAX_API_KEYS", "a,b".to_string()),
                ("PARALLAX_CONCURRENCY", "4".to_string()),
                ("PARALLAX_LISTEN", "0.0.0.0:9000".to_string()),
            ]
        );
    }

    #[test]
    fn refuses_unknown_keys_and_bad_values() {
        assert!(settings("lisen = \"x\"")
            .unwrap_err()
            .to_string()
            .contains("unknown setting"));
        assert!(settings("api_keys = [1]").is_err());
        assert!(settings("not toml [").is_err());
    }
}
