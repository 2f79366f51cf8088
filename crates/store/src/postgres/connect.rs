//! Connecting: the URL and its libpq options, the schema a URL chooses, keepalives, and
//! errors that say which server could not be reached.

use super::*;

/// TCP keepalives that notice a dead peer within about a minute.
pub(super) fn keep_alive(config: &mut Config) {
    config
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(30))
        .keepalives_interval(Duration::from_secs(10))
        .keepalives_retries(3);
}

pub(super) fn parse_url(url: &str) -> Result<Config> {
    url.parse::<Config>().map_err(|e| {
        StoreError::Pool(format!(
            "invalid --database-url ({}); expected postgres://USER[:PASSWORD]@HOST:PORT/DBNAME",
            error_text(&e)
        ))
    })
}

pub(super) fn pool_error(e: PoolError) -> StoreError {
    match e {
        PoolError::Backend(e) => StoreError::Postgres(e),
        other => StoreError::Pool(error_text(&other)),
    }
}

/// An error with its causes: `tokio_postgres::Error` alone displays as just "db error" or
/// "error connecting to server", the server's message being its source.
pub fn error_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `host:port/dbname` of a config, without credentials, for messages.
pub(super) fn describe(config: &Config) -> String {
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match host {
                Host::Tcp(name) => format!("{name}:{port}"),
                #[cfg(unix)]
                Host::Unix(path) => format!("{}:{port}", path.display()),
            }
        })
        .collect();
    let hosts = if hosts.is_empty() {
        "localhost:5432".to_string()
    } else {
        hosts.join(",")
    };
    format!(
        "{hosts}/{}",
        config.get_dbname().unwrap_or("(default database)")
    )
}

/// Splits libpq `options` into words as the server does: on whitespace, `\` escaping the
/// next character.
pub(super) fn split_options(options: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = options.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                word.push(next);
            }
        } else if c.is_whitespace() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Escapes a word for libpq `options`.
pub(super) fn escape_option(word: &str) -> String {
    let mut escaped = String::with_capacity(word.len());
    for c in word.chars() {
        if c == '\\' || c.is_whitespace() {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The first schema of the `search_path` set by libpq `options` (`-c search_path=…`,
/// `-csearch_path=…` or `--search_path=…`; the last setting wins), as PostgreSQL resolves it:
/// unquoted names fold to lower case. `None` without one, or when it is `$user` or a reserved
/// `pg_` name.
pub(super) fn schema_from_options(options: &str) -> Option<String> {
    let words = split_options(options);
    let mut words = words.iter();
    let mut path = None;
    while let Some(word) = words.next() {
        let setting = if word == "-c" {
            words.next().map(String::as_str)
        } else if let Some(rest) = word.strip_prefix("--") {
            Some(rest)
        } else {
            word.strip_prefix("-c")
        };
        if let Some((name, value)) = setting.and_then(|s| s.split_once('=')) {
            if name
                .trim()
                .replace('-', "_")
                .eq_ignore_ascii_case("search_path")
            {
                path = Some(value.to_string());
            }
        }
    }
    first_schema(&path?)
}

pub(super) fn first_schema(path: &str) -> Option<String> {
    let path = path.trim_start();
    let name = if let Some(quoted) = path.strip_prefix('"') {
        let mut name = String::new();
        let mut chars = quoted.chars().peekable();
        loop {
            match chars.next()? {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    name.push('"');
                }
                '"' => break,
                c => name.push(c),
            }
        }
        name
    } else {
        let name = path.split(',').next().unwrap_or("").trim();
        if name == "$user" {
            return None;
        }
        name.to_lowercase()
    };
    if name.is_empty() || name.starts_with("pg_") {
        return None;
    }
    Some(name)
}

/// Quotes an SQL identifier.
pub(super) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
