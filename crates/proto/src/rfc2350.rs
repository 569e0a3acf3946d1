//! The RFC 2350 fields of a team's profile: what a team publishes so others
//! know when and how to reach it (time zone and hours, an emergency phone,
//! its PGP key, the languages it works in, the kind of constituency it
//! serves, and where its full RFC 2350 document lives).

use serde::{Deserialize, Serialize};

use crate::{Error, text::check_line};

/// The kinds of constituency a team may declare (FIRST's team types).
pub const CONSTITUENCY_TYPES: &[&str] = &[
    "national",
    "government",
    "academic",
    "financial",
    "isp",
    "enterprise",
    "vendor",
    "regional",
    "other",
];

/// The most languages a team may list.
pub const MAX_LANGUAGES: usize = 16;

/// A team's RFC 2350 details; every field optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamDetails {
    /// Time zone: an IANA name (Europe/Lisbon) or an offset (UTC+01:00).
    pub time_zone: Option<String>,
    /// Business hours, in words (Mon-Fri 08:00-18:00).
    pub business_hours: Option<String>,
    /// Emergency phone, international form (+351 210 000 000).
    pub emergency_phone: Option<String>,
    /// OpenPGP key fingerprint, 40 (v4) or 64 (v6) uppercase hex digits.
    pub pgp_fingerprint: Option<String>,
    /// One of [`CONSTITUENCY_TYPES`].
    pub constituency_type: Option<String>,
    /// ISO 639-1 codes of the languages it works in (lowercase).
    pub languages: Vec<String>,
    /// Where its RFC 2350 document is (https).
    pub rfc2350_url: Option<String>,
}

fn invalid(field: &'static str, reason: String) -> Error {
    Error::Invalid { field, reason }
}

impl TeamDetails {
    /// Brings typed input to the one form [`TeamDetails::check`] accepts:
    /// a fingerprint without spaces, in uppercase; languages in lowercase.
    pub fn normalized(mut self) -> Self {
        if let Some(f) = &mut self.pgp_fingerprint {
            *f = f
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_ascii_uppercase();
        }
        for l in &mut self.languages {
            *l = l.trim().to_ascii_lowercase();
        }
        if let Some(t) = &mut self.constituency_type {
            *t = t.trim().to_ascii_lowercase();
        }
        self
    }

    /// Checks every field (a peer's profile went through no parser).
    pub fn check(&self) -> Result<(), Error> {
        if let Some(tz) = &self.time_zone {
            let ok = !tz.is_empty()
                && tz.len() <= 64
                && tz
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_+-:".contains(c));
            if !ok {
                return Err(invalid(
                    "time_zone",
                    format!(
                        "{:?} is not a time zone like Europe/Lisbon or UTC+01:00",
                        crate::text::printable(tz, false)
                    ),
                ));
            }
        }
        if let Some(h) = &self.business_hours {
            check_line("business_hours", h, 128)?;
        }
        if let Some(p) = &self.emergency_phone {
            let digits = p.chars().filter(char::is_ascii_digit).count();
            let ok = p.starts_with('+')
                && (6..=15).contains(&digits)
                && p[1..]
                    .chars()
                    .all(|c| c.is_ascii_digit() || " -().".contains(c))
                && p.len() <= 32;
            if !ok {
                return Err(invalid(
                    "emergency_phone",
                    format!(
                        "{:?} is not a phone number in international form like +351 210 000 000",
                        crate::text::printable(p, false)
                    ),
                ));
            }
        }
        if let Some(f) = &self.pgp_fingerprint
            && !((f.len() == 40 || f.len() == 64)
                && f.chars()
                    .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c)))
        {
            return Err(invalid(
                "pgp_fingerprint",
                format!(
                    "{:?} is not an OpenPGP fingerprint (40 or 64 hex digits)",
                    crate::text::printable(f, false)
                ),
            ));
        }
        if let Some(t) = &self.constituency_type
            && !CONSTITUENCY_TYPES.contains(&t.as_str())
        {
            return Err(invalid(
                "constituency_type",
                format!(
                    "{:?} is not one of {}",
                    crate::text::printable(t, false),
                    CONSTITUENCY_TYPES.join(", ")
                ),
            ));
        }
        if self.languages.len() > MAX_LANGUAGES {
            return Err(invalid(
                "languages",
                format!(
                    "{} languages, at most {MAX_LANGUAGES}",
                    self.languages.len()
                ),
            ));
        }
        if let Some(l) = self
            .languages
            .iter()
            .find(|l| l.len() != 2 || !l.chars().all(|c| c.is_ascii_lowercase()))
        {
            return Err(invalid(
                "languages",
                format!(
                    "{:?} is not an ISO 639-1 code like en or pt",
                    crate::text::printable(l, false)
                ),
            ));
        }
        if let Some(u) = &self.rfc2350_url {
            let ok = u.len() <= 512
                && url::Url::parse(u)
                    .is_ok_and(|p| p.scheme() == "https" && p.host().is_some() && p.as_str() == u);
            if !ok {
                return Err(invalid(
                    "rfc2350_url",
                    format!(
                        "{:?} is not an https URL like https://cert.example/rfc2350",
                        crate::text::printable(u, false)
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> TeamDetails {
        TeamDetails {
            time_zone: Some("America/Sao_Paulo".into()),
            business_hours: Some("Mon-Fri 09:00-18:00".into()),
            emergency_phone: Some("+55 11 5509-3548".into()),
            pgp_fingerprint: Some("3b2a 1c5e 8f90 1234 5678 9abc def0 1234 5678 9abc".into()),
            constituency_type: Some("National".into()),
            languages: vec!["PT".into(), "en".into()],
            rfc2350_url: Some("https://cert.example/rfc2350.txt".into()),
        }
        .normalized()
    }

    #[test]
    fn accepts_a_full_profile_in_normal_form() {
        let d = good();
        d.check().unwrap();
        assert_eq!(
            d.pgp_fingerprint.as_deref(),
            Some("3B2A1C5E8F90123456789ABCDEF0123456789ABC")
        );
        assert_eq!(d.languages, ["pt", "en"]);
        TeamDetails::default().check().unwrap();
    }

    #[test]
    fn names_the_field_that_is_wrong() {
        type Spoil = Box<dyn Fn(&mut TeamDetails)>;
        let cases: Vec<(&str, Spoil)> = vec![
            (
                "time_zone",
                Box::new(|d| d.time_zone = Some("Lisbon time".into())),
            ),
            (
                "business_hours",
                Box::new(|d| d.business_hours = Some("9\u{1b}[2J".into())),
            ),
            (
                "emergency_phone",
                Box::new(|d| d.emergency_phone = Some("call us".into())),
            ),
            (
                "pgp_fingerprint",
                Box::new(|d| d.pgp_fingerprint = Some("ABC".into())),
            ),
            (
                "constituency_type",
                Box::new(|d| d.constituency_type = Some("pirates".into())),
            ),
            (
                "languages",
                Box::new(|d| d.languages = vec!["english".into()]),
            ),
            (
                "rfc2350_url",
                Box::new(|d| d.rfc2350_url = Some("http://cert.example/".into())),
            ),
        ];
        for (field, spoil) in cases {
            let mut d = good();
            spoil(&mut d);
            let e = d.check().unwrap_err().to_string();
            assert!(e.contains(field), "{field}: {e}");
        }
    }
}
