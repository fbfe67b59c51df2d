use std::fmt;
use std::time::Duration;

/// The longest grant daypass will ever create.
pub const MAX_GRANT: Duration = Duration::from_secs(24 * 60 * 60);

/// Parses `15m`, `1h`, `1h30m`, `90s`, `2d` or a bare number of minutes.
pub fn parse_duration(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err("a duration is required (e.g. 15m, 1h, 1h30m)".into());
    }
    if s.chars().all(|c| c.is_ascii_digit()) {
        let minutes: u64 = s
            .parse()
            .map_err(|_| format!("`{s}` is too large a number of minutes"))?;
        return minutes
            .checked_mul(60)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("`{s}` is too large a number of minutes"));
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(format!("`{s}` is not a duration (use e.g. 15m, 1h, 1h30m)")),
        };
        if digits.is_empty() {
            return Err(format!("`{s}` is not a duration (use e.g. 15m, 1h, 1h30m)"));
        }
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("`{s}` is too long a duration"))?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("`{s}` is too long a duration"))?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(format!(
            "`{s}` is not a duration (a number needs a unit: s, m, h or d)"
        ));
    }
    Ok(Duration::from_secs(total))
}

/// How long a grant lasts: at least one minute, never more than 24 hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GrantDuration(Duration);

impl GrantDuration {
    pub fn new(d: Duration) -> Result<Self, String> {
        if d < Duration::from_secs(60) {
            return Err("a grant lasts at least 1 minute".into());
        }
        if d > MAX_GRANT {
            return Err("a grant lasts at most 24 hours".into());
        }
        Ok(Self(d))
    }

    pub fn parse(input: &str) -> Result<Self, String> {
        Self::new(parse_duration(input)?)
    }

    pub fn from_minutes(minutes: i64) -> Result<Self, String> {
        let m = u64::try_from(minutes).map_err(|_| "a duration is never negative".to_string())?;
        Self::new(Duration::from_secs(m.saturating_mul(60)))
    }

    pub fn as_duration(self) -> Duration {
        self.0
    }

    pub fn as_millis(self) -> i64 {
        // At most 24 h, so this always fits.
        self.0.as_millis() as i64
    }

    pub fn minutes(self) -> i64 {
        (self.0.as_secs() / 60) as i64
    }

    pub fn chrono(self) -> chrono::Duration {
        chrono::Duration::milliseconds(self.as_millis())
    }
}

impl fmt::Display for GrantDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&human(self.0))
    }
}

/// The duration offered first: the one picked, else the requester's wish, else 1h (or the
/// nearest preset above), never over `max`.
pub fn first_choice(
    picked: Option<GrantDuration>,
    wished_ms: Option<i64>,
    max: GrantDuration,
) -> GrantDuration {
    picked
        .or_else(|| wished_ms.and_then(|w| GrantDuration::from_minutes(w / 60_000).ok()))
        .filter(|d| *d <= max)
        .unwrap_or_else(|| {
            presets(max)
                .into_iter()
                .find(|d| d.minutes() >= 60)
                .unwrap_or(max)
        })
}

/// The durations offered to choose from (a wish on the request form, a choice on the review
/// page and in chat), short ones too, never longer than `max` (which is always offered).
pub fn presets(max: GrantDuration) -> Vec<GrantDuration> {
    let mut out: Vec<GrantDuration> = ["5m", "15m", "30m", "1h", "2h", "4h", "8h", "24h"]
        .iter()
        .filter_map(|p| GrantDuration::parse(p).ok())
        .filter(|d| *d < max)
        .collect();
    out.push(max);
    out
}

/// A span of milliseconds in the form people type.
pub fn duration_text(ms: i64) -> String {
    human(Duration::from_millis(ms.max(0) as u64))
}

/// `1h30m`, `15m`, `24h`: the form people type.
pub fn human(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_people_type() {
        for (input, secs) in [
            ("15m", 900),
            ("1h", 3600),
            ("1h30m", 5400),
            ("90", 5400),
            ("45s", 45),
            ("1d", 86_400),
            (" 8h ", 28_800),
        ] {
            assert_eq!(
                parse_duration(input),
                Ok(Duration::from_secs(secs)),
                "{input}"
            );
        }
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        for input in [
            "",
            "h",
            "1x",
            "1h30",
            "-5m",
            "1.5h",
            "99999999999999999999",
            "m5",
        ] {
            assert!(parse_duration(input).is_err(), "{input:?}");
        }
    }

    #[test]
    fn grant_duration_is_between_a_minute_and_a_day() {
        assert!(GrantDuration::parse("59s").is_err());
        assert!(GrantDuration::parse("1m").is_ok());
        assert!(GrantDuration::parse("24h").is_ok());
        assert!(GrantDuration::parse("24h1m").is_err());
        assert!(GrantDuration::parse("1441").is_err());
        assert!(GrantDuration::from_minutes(-1).is_err());
        assert_eq!(GrantDuration::parse("1h30m").unwrap().to_string(), "1h30m");
    }
}
