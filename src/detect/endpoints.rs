//! Network endpoints (URLs, bare domains, e-mail addresses, IPs) in a window of text, and
//! the organisation's allowlist.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::Regex;

use crate::finding::{Endpoint, EndpointKind};

static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b(?:https?|ftp|wss?)://[^\s<>"'`)\]|\\^]+|\bwww\.[a-z0-9-]+(?:\.[a-z0-9-]+)+[^\s<>"'`)\]|\\^]*"#)
        .expect("static regex")
});
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[a-z0-9][a-z0-9._%+-]{0,63}@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}\b")
        .expect("static regex")
});
static DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}\b")
        .expect("static regex")
});
static IPV4: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b").expect("static regex"));
static IPV6: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\[?\b(?:[0-9a-f]{1,4}:){2,7}:?[0-9a-f]{0,4}\b\]?").expect("static regex")
});

/// Generic top-level domains common enough to trust in a bare mention.
const GENERIC_TLDS: &[&str] = &[
    "com",
    "net",
    "org",
    "io",
    "ai",
    "app",
    "dev",
    "info",
    "biz",
    "xyz",
    "online",
    "site",
    "top",
    "cloud",
    "tech",
    "edu",
    "gov",
    "mil",
    "int",
    "co",
    "me",
    "tk",
    "ml",
    "ga",
    "cf",
    "gq",
    "ru",
    "cn",
    "su",
    "club",
    "shop",
    "live",
    "link",
    "click",
    "pro",
    "store",
    "website",
    "space",
    "host",
    "page",
    "services",
    "support",
    "news",
    "email",
    "digital",
    "network",
    "systems",
    "solutions",
    "agency",
    "company",
    "zone",
    "world",
    "today",
    "run",
    "sh",
    "pw",
    "cc",
    "ws",
    "onion",
    "local",
    "internal",
    "example",
    "test",
    "invalid",
    "localhost",
    "corp",
    "lan",
];

/// Two-letter endings that are far more often file extensions than country domains.
const FILE_LIKE: &[&str] = &[
    "py", "rs", "md", "js", "ts", "go", "pl", "hs", "ml", "rb", "cs", "vb", "ps", "db", "pm", "gz",
    "xz", "bz", "so", "ko", "el", "sc", "mk", "in", "am", "ac", "ex", "fs", "jl", "nb", "kt", "rc",
    "sx", "tf", "ui", "wv", "mo", "po",
];

fn plausible_tld(tld: &str) -> bool {
    let tld = tld.to_ascii_lowercase();
    GENERIC_TLDS.contains(&tld.as_str())
        || (tld.len() == 2
            && tld.bytes().all(|b| b.is_ascii_lowercase())
            && !FILE_LIKE.contains(&tld.as_str()))
}

/// Every endpoint in `text`, each reported once, URLs before the domains they contain.
pub fn extract(text: &str) -> Vec<Endpoint> {
    let mut out: Vec<Endpoint> = Vec::new();
    let mut covered: Vec<(usize, usize)> = Vec::new();
    for m in URL.find_iter(text) {
        let mut raw = m.as_str().trim_end_matches(['.', ',', ';', ':', '!', '?']);
        // A closing brace that closes nothing belongs to the surrounding text.
        while raw.ends_with('}') && raw.matches('}').count() > raw.matches('{').count() {
            raw = &raw[..raw.len() - 1];
        }
        let parsed = if raw.to_ascii_lowercase().starts_with("www.") {
            url::Url::parse(&format!("http://{raw}"))
        } else {
            url::Url::parse(raw)
        };
        if let Ok(u) = parsed {
            if let Some(host) = u.host_str() {
                out.push(Endpoint {
                    kind: EndpointKind::Url,
                    value: raw.to_string(),
                    host: host.trim_matches(['[', ']']).to_ascii_lowercase(),
                });
                covered.push((m.start(), m.end()));
            }
        }
    }
    for m in EMAIL.find_iter(text) {
        if overlaps(&covered, m.start(), m.end()) {
            continue;
        }
        let value = m.as_str();
        let host = value
            .rsplit('@')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if plausible_tld(host.rsplit('.').next().unwrap_or_default()) {
            out.push(Endpoint {
                kind: EndpointKind::Email,
                value: value.to_string(),
                host,
            });
            covered.push((m.start(), m.end()));
        }
    }
    for m in IPV4.find_iter(text) {
        if overlaps(&covered, m.start(), m.end()) {
            continue;
        }
        if let Ok(ip) = m.as_str().parse::<Ipv4Addr>() {
            out.push(Endpoint {
                kind: EndpointKind::Ipv4,
                value: m.as_str().to_string(),
                host: ip.to_string(),
            });
            covered.push((m.start(), m.end()));
        }
    }
    for m in IPV6.find_iter(text) {
        if overlaps(&covered, m.start(), m.end()) {
            continue;
        }
        let raw = m.as_str().trim_matches(['[', ']']);
        if let Ok(ip) = raw.parse::<Ipv6Addr>() {
            out.push(Endpoint {
                kind: EndpointKind::Ipv6,
                value: raw.to_string(),
                host: ip.to_string(),
            });
            covered.push((m.start(), m.end()));
        }
    }
    for m in DOMAIN.find_iter(text) {
        if overlaps(&covered, m.start(), m.end()) {
            continue;
        }
        let value = m.as_str();
        // "e.g.", version numbers and file names are not domains.
        let tld = value.rsplit('.').next().unwrap_or_default();
        let labels = value.split('.').count();
        let preceded_by_dot_or_at = text[..m.start()].ends_with(['@', '.', '/', '\\']);
        if labels >= 2 && plausible_tld(tld) && !preceded_by_dot_or_at && value.len() >= 4 {
            out.push(Endpoint {
                kind: EndpointKind::Domain,
                value: value.to_string(),
                host: value.to_ascii_lowercase(),
            });
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Whether a word (no whitespace in it) can hold an endpoint: a cheap test that lets a caller
/// run [`extract`] only on the few words of a long text that need it. Never false for a word
/// in which `extract` finds something.
pub fn may_hold_endpoint(word: &str) -> bool {
    let b = word.as_bytes();
    // An e-mail address: a dot after the '@'.
    let email = memchr::memchr(b'@', b).is_some_and(|at| memchr::memchr(b'.', &b[at..]).is_some());
    if email
        || memchr::memmem::find(b, b"://").is_some()
        || b.windows(4).any(|w| w.eq_ignore_ascii_case(b"www."))
        || ipv6_groups(b)
    {
        return true;
    }
    let dots = memchr::memchr_iter(b'.', b).count();
    memchr::memchr_iter(b'.', b).any(|i| {
        let rest = &b[i + 1..];
        let n = rest
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        let label = &rest[..n];
        match label.first() {
            // An IPv4 address has three dots.
            Some(c) if c.is_ascii_digit() => dots >= 3,
            Some(_) => {
                (2..=24).contains(&n)
                    && label.iter().all(u8::is_ascii_alphabetic)
                    && std::str::from_utf8(label).is_ok_and(plausible_tld)
            }
            None => false,
        }
    })
}

/// Two hex groups each followed by a colon (`2001:db8:`), which every IPv6 address the
/// extractor takes has; `std::io::Read` has none.
fn ipv6_groups(b: &[u8]) -> bool {
    memchr::memchr_iter(b':', b).any(|i| {
        i > 0
            && b[i - 1].is_ascii_hexdigit()
            && b[i + 1..]
                .iter()
                .take(5)
                .position(|&c| c == b':')
                .is_some_and(|n| n >= 1 && b[i + 1..i + 1 + n].iter().all(u8::is_ascii_hexdigit))
    })
}

fn overlaps(covered: &[(usize, usize)], s: usize, e: usize) -> bool {
    covered.iter().any(|&(a, b)| s < b && a < e)
}

/// The organisation's own domains: endpoints on them do not raise severity.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    domains: Vec<String>,
}

impl Allowlist {
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(domains: I) -> Self {
        Allowlist {
            domains: domains
                .into_iter()
                .map(|d| {
                    d.as_ref()
                        .trim()
                        .trim_start_matches("*.")
                        .trim_matches('.')
                        .to_ascii_lowercase()
                })
                .filter(|d| !d.is_empty())
                .collect(),
        }
    }

    /// Whether `host` is an allowed domain or one of its subdomains.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.');
        self.domains.iter().any(|d| {
            host == d
                || (host.len() > d.len()
                    && host.ends_with(d.as_str())
                    && host.as_bytes()[host.len() - d.len() - 1] == b'.')
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<(EndpointKind, String, String)> {
        extract(text)
            .into_iter()
            .map(|e| (e.kind, e.value, e.host))
            .collect()
    }

    #[test]
    fn urls_emails_ips_and_bare_domains() {
        let got = values(
            "Upload to https://collector.evil.io/c?d={data}. Mail ops@attacker.net or hit 203.0.113.9, \
             then external-endpoint.attacker.io and [2001:db8::1].",
        );
        assert_eq!(
            got,
            vec![
                (
                    EndpointKind::Url,
                    "https://collector.evil.io/c?d={data}".into(),
                    "collector.evil.io".into()
                ),
                (
                    EndpointKind::Domain,
                    "external-endpoint.attacker.io".into(),
                    "external-endpoint.attacker.io".into()
                ),
                (
                    EndpointKind::Email,
                    "ops@attacker.net".into(),
                    "attacker.net".into()
                ),
                (
                    EndpointKind::Ipv4,
                    "203.0.113.9".into(),
                    "203.0.113.9".into()
                ),
                (
                    EndpointKind::Ipv6,
                    "2001:db8::1".into(),
                    "2001:db8::1".into()
                ),
            ]
        );
    }

    #[test]
    fn words_without_endpoints_are_passed_over() {
        for w in [
            "https://collector.evil.io/c?d={data}",
            "ops@attacker.net",
            "203.0.113.9,",
            "[2001:db8::1].",
            "(external-endpoint.attacker.io)",
            "www.Example.COM/x",
            "mail.example.co.uk",
            "www.foo.zip/abc",
            "fe80:1:2::3",
            "x=2001:db8::1",
        ] {
            assert!(may_hold_endpoint(w), "{w}");
            assert!(!extract(w).is_empty(), "{w}");
        }
        for w in [
            "os.path.join(x)",
            "self.assertEqual",
            "3.14",
            "v1.2.3",
            "main.rs",
            "e.g.",
            "std::io::Read",
            "@property",
        ] {
            assert!(!may_hold_endpoint(w), "{w}");
            assert!(extract(w).is_empty(), "{w}");
        }
    }

    #[test]
    fn file_names_and_abbreviations_are_not_domains() {
        assert!(
            values("see main.rs and config.py, e.g. the README.md; v1.2.3 and report.pdf")
                .is_empty()
        );
    }

    #[test]
    fn allowlist_matches_domain_and_subdomains_only() {
        let a = Allowlist::new(["example.com", "*.corp.local"]);
        assert!(a.allows("example.com"));
        assert!(a.allows("mail.example.com"));
        assert!(!a.allows("badexample.com"));
        assert!(!a.allows("example.com.evil.io"));
        assert!(a.allows("x.corp.local"));
    }
}
