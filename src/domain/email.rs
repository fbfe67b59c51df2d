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
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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
    fn domain_is_the_part_after_the_at() {
        assert_eq!(Email::parse("x@a.example").unwrap().domain(), "a.example");
    }
}
