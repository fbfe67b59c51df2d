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

/// The characters that open and close a marker. User text never contains them: `domain::text`
/// turns them into square brackets at the edge, and the emails do the same with stored text.
pub const MARKER_OPEN: char = '\u{27e6}';
pub const MARKER_CLOSE: char = '\u{27e7}';

/// Replaces every marker in `text` with the token or code it stands for. Only a marker exactly
/// as `review_marker` / `code_marker` write it (a 64-hex-digit salt) is filled; anything else,
/// such as a lone opening bracket in a justification, stays as it is and swallows nothing.
pub fn fill_markers(text: &str, secret: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(MARKER_OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + MARKER_OPEN.len_utf8()..];
        match marker(after) {
            Some((kind, salt, len)) => {
                match kind {
                    Marker::Review => out.push_str(&derived(secret, "review", salt)),
                    Marker::Code => out.push_str(&derived_code(secret, salt)),
                }
                rest = &after[len..];
            }
            None => {
                out.push(MARKER_OPEN);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

enum Marker {
    Review,
    Code,
}

/// Reads `review:SALT⟧` or `code:SALT⟧` at the start of `s`: the kind, the salt and the length read.
fn marker(s: &str) -> Option<(Marker, &str, usize)> {
    let (kind, prefix) = if s.starts_with("review:") {
        (Marker::Review, "review:")
    } else if s.starts_with("code:") {
        (Marker::Code, "code:")
    } else {
        return None;
    };
    let salt = s[prefix.len()..].get(..64)?;
    if !salt.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let end = prefix.len() + 64;
    s[end..]
        .starts_with(MARKER_CLOSE)
        .then_some((kind, salt, end + MARKER_CLOSE.len_utf8()))
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
        let salt = &"abc".repeat(22)[..64];
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
    fn text_around_a_marker_cannot_swallow_it() {
        let salt = new_token();
        let link = format!("/review/{}", derived(b"secret", "review", &salt));
        for before in [
            "\u{27e6}review: swallow",
            "\u{27e6}review:",
            "\u{27e6}code:",
            "\u{27e6}\u{27e6}",
            "\u{27e6}review:abc\u{27e7}",
        ] {
            let text = format!("Why: {before}\nLink: /review/{}", review_marker(&salt));
            let filled = fill_markers(&text, b"secret");
            assert!(filled.ends_with(&link), "{before:?} → {filled}");
            assert!(filled.starts_with(&format!("Why: {before}")), "{filled}");
        }
    }

    #[test]
    fn hmac_separates_its_parts() {
        assert_ne!(hmac(b"k", &[b"ab", b"c"]), hmac(b"k", &[b"a", b"bc"]));
        assert!(equal(&hmac(b"k", &[b"x"]), &hmac(b"k", &[b"x"])));
        assert!(!equal(b"a", b"ab"));
    }
}
