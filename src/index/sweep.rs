//! `sweep`: a list of indicators (domains, URLs, e-mail addresses, IPs, phrases, file hashes)
//! checked against one snapshot of the index; every hit with its location and indicator.
//!
//! Indicator file: one per line; `#` starts a comment line; blank lines are ignored. The kind
//! is recognised (64 hex digits: sha256; `scheme://` or `www.`: URL; `a@b.c`: e-mail; an IP;
//! one word with dots: domain; anything else, or a line in double quotes: phrase) or forced
//! with a prefix: `domain:`, `url:`, `email:`, `ip:`, `phrase:`, `sha256:`. Defanged forms
//! (`hxxp://`, `attacker[.]io`, `ops[@]evil.io`) are refanged.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use tantivy::collector::DocSetCollector;
use tantivy::query::{BooleanQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocAddress, Score, TantivyDocument, Term};

use super::{search, tokenize, CorpusIndex, Fields, Hit, IndexError, Result};
use crate::detect::endpoints;
use crate::finding::EndpointKind;
use crate::normalize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IocKind {
    Domain,
    Url,
    Email,
    Ip,
    Phrase,
    Sha256,
}

impl IocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IocKind::Domain => "domain",
            IocKind::Url => "url",
            IocKind::Email => "email",
            IocKind::Ip => "ip",
            IocKind::Phrase => "phrase",
            IocKind::Sha256 => "sha256",
        }
    }

    fn parse(s: &str) -> Option<IocKind> {
        Some(match s.to_ascii_lowercase().as_str() {
            "domain" => IocKind::Domain,
            "url" => IocKind::Url,
            "email" => IocKind::Email,
            "ip" => IocKind::Ip,
            "phrase" => IocKind::Phrase,
            "sha256" => IocKind::Sha256,
            _ => return None,
        })
    }
}

/// One indicator, as read from its line (refanged, trimmed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ioc {
    pub line: usize,
    pub kind: IocKind,
    pub value: String,
}

/// A line that is not a valid indicator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IocError {
    pub line: usize,
    pub reason: String,
}

/// Reads an indicator file; every bad line is reported.
pub fn read_iocs(path: &Path) -> Result<Vec<Ioc>> {
    let text = std::fs::read_to_string(path).map_err(|e| IndexError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    parse_iocs(&text).map_err(|errors| IndexError::Iocs {
        path: path.to_path_buf(),
        errors,
    })
}

/// Parses indicator lines; all errors at once, with 1-based line numbers.
pub fn parse_iocs(text: &str) -> std::result::Result<Vec<Ioc>, Vec<IocError>> {
    let mut iocs = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        match parse_line(l) {
            Ok((kind, value)) => iocs.push(Ioc { line, kind, value }),
            Err(reason) => errors.push(IocError { line, reason }),
        }
    }
    if errors.is_empty() {
        Ok(iocs)
    } else {
        Err(errors)
    }
}

fn refang(s: &str) -> String {
    let mut out = s
        .replace("[.]", ".")
        .replace("(.)", ".")
        .replace("[dot]", ".")
        .replace("[@]", "@")
        .replace("[at]", "@")
        .replace("[:]", ":")
        .replace("[://]", "://");
    for (from, to) in [("hxxps://", "https://"), ("hxxp://", "http://")] {
        if out.to_ascii_lowercase().starts_with(from) {
            out = format!("{to}{}", &out[from.len()..]);
        }
    }
    out
}

fn parse_line(l: &str) -> std::result::Result<(IocKind, String), String> {
    if let Some(q) = l.strip_prefix('"') {
        let inner = q
            .strip_suffix('"')
            .ok_or("a quoted phrase needs its closing quote")?;
        return phrase(inner);
    }
    let forced = l
        .split_once(':')
        .and_then(|(k, v)| IocKind::parse(k.trim()).map(|k| (k, v.trim())));
    if let Some((kind, v)) = forced {
        let v = v.trim_matches('"');
        return match kind {
            IocKind::Phrase => phrase(v),
            _ => check(kind, &refang(v)).map(|v| (kind, v)),
        };
    }
    let v = refang(l);
    // Domain before URL: `www.evil.io` is a domain.
    for kind in [
        IocKind::Sha256,
        IocKind::Ip,
        IocKind::Email,
        IocKind::Domain,
        IocKind::Url,
    ] {
        if !v.contains(char::is_whitespace) {
            if let Ok(v) = check(kind, &v) {
                return Ok((kind, v));
            }
        }
    }
    phrase(l)
}

fn phrase(s: &str) -> std::result::Result<(IocKind, String), String> {
    if tokenize::word_tokens(&normalize::normalize(s).text).is_empty() {
        return Err(format!("phrase {s:?} has no words to search for"));
    }
    Ok((IocKind::Phrase, s.to_string()))
}

/// Validates `v` as `kind`, returning its canonical form.
fn check(kind: IocKind, v: &str) -> std::result::Result<String, String> {
    let bad = |what: &str| Err(format!("{v:?} is not {what}"));
    match kind {
        IocKind::Sha256 => {
            if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
                Ok(v.to_ascii_lowercase())
            } else {
                bad("a sha256 (64 hex digits)")
            }
        }
        IocKind::Ip => match v.trim_matches(['[', ']']).parse::<IpAddr>() {
            Ok(ip) => Ok(ip.to_string()),
            Err(_) => bad("an IP address"),
        },
        IocKind::Url | IocKind::Email | IocKind::Domain => {
            let want = match kind {
                IocKind::Url => EndpointKind::Url,
                IocKind::Email => EndpointKind::Email,
                _ => EndpointKind::Domain,
            };
            let v = v.trim_end_matches('.');
            let found = endpoints::extract(v);
            match found.iter().find(|e| e.kind == want) {
                Some(e) if e.value.eq_ignore_ascii_case(v) => Ok(v.to_lowercase()),
                _ if kind == IocKind::Domain && is_domain_syntax(v) => Ok(v.to_lowercase()),
                _ => bad(match kind {
                    IocKind::Url => "a URL",
                    IocKind::Email => "an e-mail address",
                    _ => "a domain",
                }),
            }
        }
        IocKind::Phrase => Ok(v.to_string()),
    }
}

/// A domain with an unusual ending (the endpoint extractor trusts only common ones in prose):
/// letters, digits and hyphens in two labels or more, the last alphabetic.
fn is_domain_syntax(v: &str) -> bool {
    let labels: Vec<&str> = v.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels
            .last()
            .is_some_and(|t| t.len() >= 2 && t.bytes().all(|b| b.is_ascii_alphabetic()))
}

/// One hit: the indicator and the piece it was found in.
#[derive(Debug, Clone, Serialize)]
pub struct SweepHit {
    pub ioc: Ioc,
    #[serde(flatten)]
    pub hit: Hit,
}

#[derive(Debug, Clone, Serialize)]
pub struct SweepReport {
    pub index: String,
    pub iocs: usize,
    pub iocs_with_hits: usize,
    pub files_with_hits: usize,
    /// Sorted by indicator line, then path and location.
    pub hits: Vec<SweepHit>,
    /// Indicators whose hits were cut at `max_hits`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub truncated: Vec<usize>,
    pub elapsed_ms: f64,
}

/// Looks every indicator up in one snapshot of the index. At most `max_hits` hits are kept
/// per indicator (the rest are counted in `truncated`).
pub fn sweep(index: &CorpusIndex, iocs: &[Ioc], max_hits: usize) -> Result<SweepReport> {
    let started = Instant::now();
    let reader = index.reader()?;
    let searcher = reader.searcher();
    let fields = &index.fields;
    let mut hits = Vec::new();
    let mut truncated = Vec::new();
    let mut iocs_with_hits = 0;
    for ioc in iocs {
        let (q, words) = ioc_query(fields, ioc);
        let q = search::pieces_only(fields, q);
        let found = searcher
            .search(&q, &DocSetCollector)
            .map_err(|e| IndexError::tantivy(&index.dir, e))?;
        if found.is_empty() {
            continue;
        }
        iocs_with_hits += 1;
        let mut addrs: Vec<DocAddress> = found.into_iter().collect();
        addrs.sort();
        if addrs.len() > max_hits {
            truncated.push(ioc.line);
            addrs.truncate(max_hits);
        }
        let terms: BTreeMap<String, Score> = words.into_iter().map(|w| (w, 1.0)).collect();
        let mut these = Vec::new();
        for a in addrs {
            let doc: TantivyDocument = searcher
                .doc(a)
                .map_err(|e| IndexError::tantivy(&index.dir, e))?;
            these.push(SweepHit {
                ioc: ioc.clone(),
                hit: Hit::build(fields, &doc, 1.0, &terms),
            });
        }
        these.sort_by(|a, b| order_key(&a.hit).cmp(&order_key(&b.hit)));
        if ioc.kind == IocKind::Sha256 {
            // A file hash names a file, not a place in it: one hit per file.
            these.dedup_by(|a, b| a.hit.path == b.hit.path);
            for h in &mut these {
                h.hit.location = crate::document::Location::default();
            }
        }
        hits.extend(these);
    }
    let mut files: Vec<&str> = hits.iter().map(|h| h.hit.path.as_str()).collect();
    files.sort_unstable();
    files.dedup();
    Ok(SweepReport {
        index: index.dir.display().to_string(),
        iocs: iocs.len(),
        iocs_with_hits,
        files_with_hits: files.len(),
        truncated,
        hits,
        elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
    })
}

pub(crate) fn order_key(h: &Hit) -> impl Ord + '_ {
    (
        h.path.as_str(),
        h.location.entry.as_deref(),
        h.location.attachment.as_deref(),
        h.location.page,
        h.location.line,
        h.location.column,
        h.channel.as_str(),
    )
}

fn term(field: Field, v: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, v),
        IndexRecordOption::Basic,
    ))
}

/// The normalized text's words as a phrase (or one term).
pub(crate) fn text_phrase(fields: &Fields, words: &[String]) -> Option<Box<dyn Query>> {
    match words {
        [] => None,
        [w] => Some(Box::new(TermQuery::new(
            Term::from_field_text(fields.text, w),
            IndexRecordOption::WithFreqs,
        ))),
        _ => Some(Box::new(PhraseQuery::new(
            words
                .iter()
                .map(|w| Term::from_field_text(fields.text, w))
                .collect(),
        ))),
    }
}

/// The query for one indicator, and the words to highlight. Endpoints match their field or
/// their words as a phrase in the text (a mention the endpoint extractor did not take, such as
/// a domain with a rare ending).
fn ioc_query(fields: &Fields, ioc: &Ioc) -> (Box<dyn Query>, Vec<String>) {
    let words = tokenize::word_tokens(&normalize::normalize(&ioc.value).text);
    let mut should: Vec<Box<dyn Query>> = match ioc.kind {
        IocKind::Sha256 => vec![
            term(fields.sha256, &ioc.value),
            term(fields.entry_sha256, &ioc.value),
        ],
        IocKind::Domain => vec![term(fields.domain, &ioc.value)],
        IocKind::Email => vec![term(fields.email, &ioc.value)],
        IocKind::Ip => vec![term(fields.ip, &ioc.value)],
        IocKind::Url => {
            let bare = ioc.value.trim_end_matches('/');
            vec![term(fields.url, &ioc.value), term(fields.url, bare)]
        }
        IocKind::Phrase => Vec::new(),
    };
    if ioc.kind != IocKind::Sha256 {
        if let Some(p) = text_phrase(fields, &words) {
            should.push(p);
        }
    }
    let q = BooleanQuery::new(should.into_iter().map(|q| (Occur::Should, q)).collect());
    let words = if ioc.kind == IocKind::Sha256 {
        Vec::new()
    } else {
        words
    };
    (Box::new(q), words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(usize, IocKind, String)> {
        parse_iocs(text)
            .unwrap()
            .into_iter()
            .map(|i| (i.line, i.kind, i.value))
            .collect()
    }

    #[test]
    fn kinds_are_recognised_forced_and_refanged() {
        let sha = "a".repeat(64);
        let text = format!(
            "# comment\n\nattacker[.]io\nhxxps://c.evil.io/x?d=1\nops@evil.io\n203.0.113.9\n{sha}\n\
             \"send_data tool\"\nexport all documents\nphrase: x.y\ndomain: evil.zip\nip: 2001:db8::1\n"
        );
        assert_eq!(
            kinds(&text),
            vec![
                (3, IocKind::Domain, "attacker.io".into()),
                (4, IocKind::Url, "https://c.evil.io/x?d=1".into()),
                (5, IocKind::Email, "ops@evil.io".into()),
                (6, IocKind::Ip, "203.0.113.9".into()),
                (7, IocKind::Sha256, sha.clone()),
                (8, IocKind::Phrase, "send_data tool".into()),
                (9, IocKind::Phrase, "export all documents".into()),
                (10, IocKind::Phrase, "x.y".into()),
                (11, IocKind::Domain, "evil.zip".into()),
                (12, IocKind::Ip, "2001:db8::1".into()),
            ]
        );
    }

    #[test]
    fn bad_lines_are_all_reported_with_numbers() {
        let errs = parse_iocs("ok.example.com\nip: 999.1.1.1\n\"unclosed\nsha256: abc\n\"...\"\n")
            .unwrap_err();
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5]);
        assert!(errs[0].reason.contains("not an IP address"), "{errs:?}");
    }
}
