//! Source policy syntax: which `include_domains`/`exclude_domains` entries are accepted.
//!
//! Entries are plain domains (`example.com`, `docs.example.gov`), domain/path prefixes
//! (`youtube.com/shorts`) or bare domain extensions (`.gov`, `.co.uk`), without scheme,
//! port, query or fragment, as the SDK documents. Matching pages against a policy belongs to
//! the engine; this module only decides what a client may send.

use crate::error::FieldError;
use serde_json::Value;

/// Most entries allowed across `include_domains` and `exclude_domains` together.
pub const MAX_ENTRIES: usize = 200;

/// Validates a `source_policy` value found at `pointer`, appending what is wrong to `errors`.
pub fn validate(value: &Value, pointer: &str, errors: &mut Vec<FieldError>) {
    let Some(object) = value.as_object() else {
        if !value.is_null() {
            errors.push(FieldError::new(pointer, "must be an object or null"));
        }
        return;
    };
    let mut total = 0;
    for list in ["include_domains", "exclude_domains"] {
        let here = format!("{pointer}/{list}");
        match object.get(list) {
            None => {}
            Some(Value::Array(entries)) => {
                total += entries.len();
                for (i, entry) in entries.iter().enumerate() {
                    let at = format!("{here}/{i}");
                    match entry.as_str() {
                        Some(text) => {
                            if let Err(reason) = check_entry(text) {
                                errors.push(FieldError::new(at, reason));
                            }
                        }
                        None => errors.push(FieldError::new(at, "must be a string")),
                    }
                }
            }
            // The spec types both lists as arrays, not nullable ones: leave a list out instead.
            Some(_) => errors.push(FieldError::new(
                here,
                "must be an array of strings (leave the field out rather than sending null)",
            )),
        }
    }
    if total > MAX_ENTRIES {
        errors.push(FieldError::new(
            pointer,
            format!(
                "include_domains and exclude_domains hold {total} entries; at most {MAX_ENTRIES} are allowed"
            ),
        ));
    }
    match object.get("after_date") {
        None | Some(Value::Null) => {}
        Some(Value::String(date)) if is_iso_date(date) => {}
        Some(_) => errors.push(FieldError::new(
            format!("{pointer}/after_date"),
            "must be a date as YYYY-MM-DD",
        )),
    }
}

/// Whether `text` is a real calendar date written `YYYY-MM-DD`.
pub fn is_iso_date(text: &str) -> bool {
    text.len() == 10 && chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
}

/// Checks one entry, returning why it is refused.
pub fn check_entry(entry: &str) -> Result<(), String> {
    let refuse = |why: &str| {
        Err(format!(
            "{entry:?} is not a domain, domain/path prefix or extension: {why}"
        ))
    };
    if entry.is_empty() {
        return refuse("it is empty");
    }
    if entry.contains("://") {
        return refuse("leave out the scheme (write example.com, not https://example.com)");
    }
    if entry.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return refuse("it contains whitespace");
    }
    if entry.contains('?') || entry.contains('#') {
        return refuse("leave out query strings and fragments");
    }
    if let Some(extension) = entry.strip_prefix('.') {
        if extension.contains('/') {
            return refuse("an extension like .gov takes no path");
        }
        return labels_ok(extension).or_else(|why| refuse(&why));
    }
    let host = entry.split('/').next().unwrap_or_default();
    if host.contains(':') {
        return refuse("leave out the port");
    }
    if !host.contains('.') {
        return refuse("a domain needs at least one dot, like example.com");
    }
    labels_ok(host).or_else(|why| refuse(&why))
}

fn labels_ok(host: &str) -> Result<(), String> {
    for label in host.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("each dot-separated label must be 1 to 63 characters".into());
        }
        if !label.chars().all(|c| c.is_alphanumeric() || c == '-') {
            return Err("labels hold only letters, digits and hyphens".into());
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a label cannot start or end with a hyphen".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_documented_forms() {
        for ok in [
            "example.com",
            "subdomain.example.gov",
            "docs.python.org/3",
            "youtube.com/shorts/",
            ".gov",
            ".co.uk",
            "Wikipedia.org",
        ] {
            assert_eq!(check_entry(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refuses_urls_ports_and_junk() {
        for bad in [
            "",
            "https://example.com",
            "example.com:8080",
            "example.com/a?b=1",
            "not a domain!",
            "localhost",
            ".gov/x",
            "-a.com",
            "a..com",
        ] {
            assert!(check_entry(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn counts_entries_and_checks_dates() {
        let many: Vec<String> = (0..201).map(|i| format!("d{i}.com")).collect();
        let mut errors = vec![];
        validate(
            &json!({"include_domains": many}),
            "/source_policy",
            &mut errors,
        );
        assert_eq!(errors.len(), 1);
        assert!(errors[0].reason.contains("201"));

        let mut errors = vec![];
        validate(
            &json!({"after_date": "2024-02-30"}),
            "/source_policy",
            &mut errors,
        );
        assert_eq!(errors[0].pointer, "/source_policy/after_date");
        let mut errors = vec![];
        validate(
            &json!({"after_date": "2024-02-29", "exclude_domains": [".edu", 3]}),
            "/sp",
            &mut errors,
        );
        assert_eq!(
            errors,
            vec![FieldError::new("/sp/exclude_domains/1", "must be a string")]
        );
    }

    /// The lists are arrays in the spec, not nullable ones: a null would come back from
    /// `GET …/input` as a value the spec's `SourcePolicy` refuses.
    #[test]
    fn lists_may_be_left_out_but_not_null() {
        let mut errors = vec![];
        validate(&json!({"after_date": null}), "/sp", &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        validate(
            &json!({"include_domains": null, "exclude_domains": null}),
            "/sp",
            &mut errors,
        );
        let pointers: Vec<_> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/sp/include_domains", "/sp/exclude_domains"]);
    }
}
