use std::fmt;

/// A syntactically valid, lower-cased email address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("an email address is required".into());
        }
        if s.len() > 254 {
            return Err("an email address is at most 254 characters".into());
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err(format!("`{s}` is not an email address (no @)"));
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let domain_ok = domain.len() >= 3
            && domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !local_ok || !domain_ok {
            return Err(format!("`{s}` is not a valid email address"));
        }
        Ok(Self(s.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }

    /// The mailbox without a `+tag` sub-address: `alice+ops@example.com` → (`alice`, `example.com`).
    fn mailbox(&self) -> (&str, &str) {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or((&self.0, ""));
        (local.split('+').next().unwrap_or(local), domain)
    }

    /// Do both addresses reach the same person? `alice+x@example.com` is `alice@example.com`:
    /// every "who is this" comparison (self-approval, distinct approvers, policies naming people,
    /// per-person limits) uses this, never the spelling.
    pub fn same_person(&self, other: &Email) -> bool {
        self.mailbox() == other.mailbox()
    }

    /// The person as a string, for keys (`alice@example.com` for `alice+x@example.com`).
    pub fn person(&self) -> String {
        let (local, domain) = self.mailbox();
        format!("{local}@{domain}")
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn accepts_and_lowercases_ordinary_addresses() {
        for (input, want) in [
            ("alice@example.com", "alice@example.com"),
            (
                " Bob.Smith+ops@Sub.Example.ORG ",
                "bob.smith+ops@sub.example.org",
            ),
            ("localhost@mail.localhost", "localhost@mail.localhost"),
        ] {
            assert_eq!(Email::parse(input).unwrap().as_str(), want);
        }
    }

    #[test]
    fn rejects_malformed_addresses() {
        for input in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "alice@example",
            "alice@@example.com",
            "a..b@example.com",
            "alice@-example.com",
            "<script>@example.com",
            "alice@exa mple.com",
            "alice\n@example.com",
        ] {
            assert!(Email::parse(input).is_err(), "{input:?} should be rejected");
        }
    }

    #[test]
    fn sub_addresses_are_the_same_person() {
        let e = |s: &str| Email::parse(s).unwrap();
        for (a, b, same) in [
            ("alice@example.com", "alice+x@example.com", true),
            ("Alice+ops@Example.com", "alice+other@example.com", true),
            ("alice@example.com", "alice@example.com", true),
            ("alice@example.com", "alicex@example.com", false),
            ("alice@example.com", "alice@example.org", false),
            ("alice+x@example.com", "bob+x@example.com", false),
        ] {
            assert_eq!(e(a).same_person(&e(b)), same, "{a} {b}");
            assert_eq!(e(a).person() == e(b).person(), same, "{a} {b}");
        }
        assert_eq!(e("alice+x@example.com").person(), "alice@example.com");
    }

    #[test]
    fn domain_is_the_part_after_the_at() {
        assert_eq!(Email::parse("x@a.example").unwrap().domain(), "a.example");
    }
}
