//! Secrets handed to people: random, only ever stored as hashes, compared in constant time.
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// 32 random bytes from the OS CSPRNG, hex-encoded (256 bits).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A token derived from the server secret and a random `salt`. The database keeps the salt (in
/// a queued email) and the token's hash, never the token: without the secret, which lives
/// outside the database, neither gives the token back.
pub fn derived(secret: &[u8], purpose: &str, salt: &str) -> String {
    hex::encode(hmac(secret, &[purpose.as_bytes(), salt.as_bytes()]))
}

/// A six-digit code derived like `derived`.
pub fn derived_code(secret: &[u8], salt: &str) -> String {
    let mac = hmac(secret, &[b"login-code-salt", salt.as_bytes()]);
    let n = u32::from_be_bytes([mac[0], mac[1], mac[2], mac[3]]) % 1_000_000;
    format!("{n:06}")
}

/// Queued emails say `⟦review:SALT⟧` or `⟦code:SALT⟧` where a token or code goes; the sender
/// puts the real one in at the last moment.
pub fn review_marker(salt: &str) -> String {
    format!("\u{27e6}review:{salt}\u{27e7}")
}

pub fn code_marker(salt: &str) -> String {
    format!("\u{27e6}code:{salt}\u{27e7}")
}

/// Replaces every marker in `text` with the token or code it stands for.
pub fn fill_markers(text: &str, secret: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('\u{27e6}') {
        out.push_str(&rest[..start]);
        let after = &rest[start + '\u{27e6}'.len_utf8()..];
        let Some(end) = after.find('\u{27e7}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        match after[..end].split_once(':') {
            Some(("review", salt)) => out.push_str(&derived(secret, "review", salt)),
            Some(("code", salt)) => out.push_str(&derived_code(secret, salt)),
            _ => out.push_str(
                &rest[start..start + '\u{27e6}'.len_utf8() + end + '\u{27e7}'.len_utf8()],
            ),
        }
        rest = &after[end + '\u{27e7}'.len_utf8()..];
    }
    out.push_str(rest);
    out
}

/// What the database keeps instead of a token.
pub fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

pub fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        mac.update(&(p.len() as u64).to_be_bytes());
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

pub fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_distinct() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_ne!(hash(&a), hash(&b));
    }

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            let c = derived_code(b"secret", &new_token());
            assert_eq!(c.len(), 6);
            assert!(c.chars().all(|c| c.is_ascii_digit()));
        }
    }

    #[test]
    fn markers_become_the_derived_token_and_code() {
        let salt = "abc";
        let text = format!(
            "link /review/{} code {} end",
            review_marker(salt),
            code_marker(salt)
        );
        let filled = fill_markers(&text, b"secret");
        assert_eq!(
            filled,
            format!(
                "link /review/{} code {} end",
                derived(b"secret", "review", salt),
                derived_code(b"secret", salt)
            )
        );
        assert_ne!(
            derived(b"secret", "review", salt),
            derived(b"other", "review", salt)
        );
        assert_eq!(
            fill_markers("no markers \u{27e6}odd", b"s"),
            "no markers \u{27e6}odd"
        );
    }

    #[test]
    fn hmac_separates_its_parts() {
        assert_ne!(hmac(b"k", &[b"ab", b"c"]), hmac(b"k", &[b"a", b"bc"]));
        assert!(equal(&hmac(b"k", &[b"x"]), &hmac(b"k", &[b"x"])));
        assert!(!equal(b"a", b"ab"));
    }
}
