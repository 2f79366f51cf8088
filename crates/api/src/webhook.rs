//! Webhooks on the wire: tenant secrets, the signature receivers verify, and the body of a
//! `task_run.status` delivery.
//!
//! Signatures follow Standard Webhooks, so its libraries verify them unchanged: a secret is
//! `whsec_` followed by 32 random bytes in base64; each attempt carries `webhook-id` (the
//! same on every retry of one delivery), `webhook-timestamp` (Unix seconds of the attempt)
//! and `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with
//! the secret's bytes.

use crate::run::TaskRun;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Prefix of webhook secrets.
pub const SECRET_PREFIX: &str = "whsec_";
/// Prefix of delivery ids (`webhook-id`).
pub const DELIVERY_PREFIX: &str = "whmsg_";
/// The one event type of task runs.
pub const TASK_RUN_STATUS: &str = "task_run.status";

/// A new tenant secret.
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The key bytes of a secret (`whsec_` and base64); a secret in another form is used as
/// raw bytes, as Standard Webhooks libraries do.
fn key_of(secret: &str) -> Vec<u8> {
    match secret.strip_prefix(SECRET_PREFIX) {
        Some(b64) => STANDARD
            .decode(b64)
            .unwrap_or_else(|_| secret.as_bytes().to_vec()),
        None => secret.as_bytes().to_vec(),
    }
}

/// HMAC-SHA256 (RFC 2104).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| -> [u8; BLOCK] {
        let mut out = block;
        for b in &mut out {
            *b ^= byte;
        }
        out
    };
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// The `webhook-signature` header of one attempt.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    let signed = format!("{id}.{timestamp}.{body}");
    let mac = hmac_sha256(&key_of(secret), signed.as_bytes());
    format!("v1,{}", STANDARD.encode(mac))
}

/// The body of a `task_run.status` delivery: the run as `GET /v1/tasks/runs/{id}` returns
/// it, wrapped with the event type and the time it happened (RFC 3339).
pub fn task_run_status_body(run: &TaskRun, at_micros: i64) -> String {
    serde_json::json!({
        "type": TASK_RUN_STATUS,
        "timestamp": crate::time::rfc3339(at_micros),
        "data": run,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2 of RFC 4231.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block is hashed first.
        let mac = hmac_sha256(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(
            hex::encode(mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(secret, id, 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_are_fresh_and_well_formed() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert!(a.starts_with(SECRET_PREFIX));
        assert_eq!(key_of(&a).len(), 32);
    }
}
