//! Hostname normalisation and zone membership, the way Route53 compares names: case-insensitive,
//! with or without the trailing dot.

/// Lowercases, drops one trailing dot and checks the name is a fully qualified DNS name
/// (at least two labels, each 1–63 of letters, digits, `-` or `_`, 253 characters at most).
pub fn normalize_fqdn(name: &str) -> Option<String> {
    let name = name.trim().strip_suffix('.').unwrap_or(name.trim());
    if name.is_empty() || name.len() > 253 {
        return None;
    }
    let lower = name.to_ascii_lowercase();
    let mut labels = 0;
    for label in lower.split('.') {
        let ok = (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return None;
        }
        labels += 1;
    }
    (labels >= 2).then_some(lower)
}

/// True when `name` is the zone apex or below it. Both must already be normalised.
pub fn in_zone(name: &str, zone: &str) -> bool {
    name == zone
        || name
            .strip_suffix(zone)
            .is_some_and(|prefix| prefix.ends_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        let cases = [
            (
                "plain",
                "wireless.home.example.com",
                Some("wireless.home.example.com"),
            ),
            (
                "trailing dot",
                "Wireless.Home.Example.com.",
                Some("wireless.home.example.com"),
            ),
            ("single label", "localhost", None),
            ("empty label", "a..b", None),
            ("leading hyphen", "-a.b", None),
            ("space", "a b.c", None),
            ("empty", "", None),
            ("only dot", ".", None),
            ("label too long", &format!("{}.com", "a".repeat(64)), None),
            (
                "underscore ok",
                "_acme.example.com",
                Some("_acme.example.com"),
            ),
        ];
        for (name, input, want) in cases {
            assert_eq!(normalize_fqdn(input).as_deref(), want, "{name}");
        }
    }

    #[test]
    fn zone_membership() {
        let cases = [
            (
                "below",
                "wireless.home.example.com",
                "home.example.com",
                true,
            ),
            ("apex", "home.example.com", "home.example.com", true),
            (
                "suffix but not a label boundary",
                "evilhome.example.com",
                "home.example.com",
                false,
            ),
            (
                "other zone",
                "wireless.example.org",
                "home.example.com",
                false,
            ),
        ];
        for (name, host, zone, want) in cases {
            assert_eq!(in_zone(host, zone), want, "{name}");
        }
    }
}
