//! Credential detection: find API keys, tokens, private keys and passwords in text, so the
//! credential-rotation list can name every credential a compromised agent held or saw.
//!
//! One table of credential types ([`KINDS`]) says, per type, the service, how it is recognised
//! (format and checksum, PEM block, URL password, or the name it is assigned to) and how to
//! rotate it. A found value is a [`Secret`], which cannot be printed or serialized by accident.
//!
//! ```
//! use mcpsweep::secrets;
//!
//! let hits = secrets::scan_text("export DB_PASSWORD='Rk7#pQ2!vW9z'");
//! assert_eq!(hits.len(), 1);
//! assert_eq!(hits[0].kind.id, "password");
//! assert_eq!(hits[0].name.as_deref(), Some("DB_PASSWORD"));
//! assert_eq!(secrets::preview(hits[0].kind, &hits[0].secret), "…9z");
//! ```

mod kinds;
pub mod names;
pub mod validate;

use std::fmt;
use std::ops::Range;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use base64::Engine;
use regex::Regex;
use sha2::{Digest, Sha256};

pub use kinds::{kind, Kind, Recognise, Vendor, KINDS, VENDORS};
use names::NameClass;

/// A credential's value. It implements neither `Display` nor `Serialize`, and its `Debug`
/// shows only the fingerprint, so it cannot reach output by accident; [`Secret::expose`]
/// is the one way to read it.
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself. Never print or store it: use [`Secret::fingerprint`] and [`preview`].
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Full sha256 of the value, in hex: the identity of a secret across places.
    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// The first 12 hex digits of the value's sha256, as shown in reports.
    pub fn fingerprint(&self) -> String {
        let mut s = self.sha256();
        s.truncate(12);
        s
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.fingerprint())
    }
}

/// A redacted view of a secret: the type's fixed prefix (`ghp_`, `AKIA`, a PEM header), an
/// ellipsis, and at most the last 4 characters (2 when the random part is under 20
/// characters, none under 12). For PEM keys the tail is taken from the base64 body.
pub fn preview(kind: &Kind, secret: &Secret) -> String {
    let value = secret.expose();
    let prefix = if value.starts_with(kind.prefix) {
        kind.prefix
    } else {
        ""
    };
    let tail_of: &str = if value.starts_with("-----BEGIN ") {
        // Canonical PEM: header line, body, footer line.
        value.split('\n').nth(1).unwrap_or("")
    } else {
        &value[prefix.len()..]
    };
    let hidden = tail_of.chars().count();
    let shown = if hidden >= 20 {
        4
    } else if hidden >= 12 {
        2
    } else {
        0
    };
    let tail: String = tail_of.chars().skip(hidden - shown).collect();
    format!("{prefix}\u{2026}{tail}")
}

/// A credential found in a piece of text.
#[derive(Debug)]
pub struct Hit {
    pub kind: &'static Kind,
    /// The service and rotation steps: the type's own, or, for a value recognised by its name,
    /// those of the service the name mentions (`OPENAI_API_KEY`).
    pub service: &'static str,
    pub rotation: &'static str,
    pub secret: Secret,
    /// Byte range of the secret (or the text carrying it, such as a Basic header) in the text.
    pub start: usize,
    pub end: usize,
    /// The name the value was assigned to, when there was one.
    pub name: Option<String>,
    /// What the credential opens, when the text says and it is not secret: `user@host` of a
    /// connection URL, the issuer of a JWT, the account of an Azure connection string.
    pub target: Option<String>,
}

impl Hit {
    fn new(kind: &'static Kind, secret: Secret, range: Range<usize>) -> Self {
        Hit {
            kind,
            service: kind.service,
            rotation: kind.rotation,
            secret,
            start: range.start,
            end: range.end,
            name: None,
            target: None,
        }
    }

    fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

/// A named value of a structured source: a JSON member, an environment variable, a
/// command-line flag and its argument.
#[derive(Debug, Clone, Copy)]
pub struct Field<'a> {
    pub name: Option<&'a str>,
    pub value: &'a str,
}

/// Finds the credentials in free text: known formats anywhere, PEM blocks, passwords in
/// URLs, `Authorization` headers, values assigned to credential-like names, and AWS/Twilio
/// secrets next to their key ids. Hits are sorted by position and never overlap.
pub fn scan_text(text: &str) -> Vec<Hit> {
    scan(text).finish()
}

/// Finds the credentials in the fields of one structured object (a JSON object, a set of
/// environment variables, an argument list): each value as text, each value by the name it
/// is assigned to, and secrets paired with key ids found in sibling fields. Returns the index
/// of the field each hit is in, with offsets inside that field's value.
pub fn scan_fields(fields: &[Field<'_>]) -> Vec<(usize, Hit)> {
    let mut per_field: Vec<Found> = fields.iter().map(|f| scan(f.value)).collect();
    for (f, found) in fields.iter().zip(per_field.iter_mut()) {
        let Some(name) = f.name else { continue };
        let value = f.value.trim();
        let offset = f.value.len() - f.value.trim_start().len();
        let whole = offset..offset + value.len();
        if let Some(class) = names::classify(name) {
            for h in &mut found.hits {
                h.name.get_or_insert_with(|| name.to_string());
            }
            if !found.blocked(&whole) {
                if let Some(mut h) = by_name(name, class, value) {
                    h.start += offset;
                    h.end += offset;
                    found.add(h);
                }
            }
        } else {
            // A known format that is the whole value takes the field's name anyway.
            for h in &mut found.hits {
                if h.range() == whole {
                    h.name.get_or_insert_with(|| name.to_string());
                }
            }
        }
    }
    pair_fields(fields, &mut per_field);
    let mut out = Vec::new();
    for (i, found) in per_field.into_iter().enumerate() {
        out.extend(found.finish().into_iter().map(|h| (i, h)));
    }
    out
}

/// Finds credentials in the printable runs of binary data (SQLite memory stores, caches).
/// Offsets are offsets in `bytes`.
pub fn scan_binary(bytes: &[u8]) -> Vec<Hit> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && (matches!(bytes[i], 0x20..=0x7e | b'\t' | b'\n' | b'\r')) {
            i += 1;
        }
        if i - start >= 16 {
            if let Ok(run) = std::str::from_utf8(&bytes[start..i]) {
                out.extend(scan_text(run).into_iter().map(|mut h| {
                    h.start += start;
                    h.end += start;
                    h
                }));
            }
        }
        i += 1;
    }
    out
}

/// Hits of one text, plus ranges that a validated format rejected (a GitHub token with a
/// bad checksum, a placeholder key): nothing weaker may claim those.
#[derive(Default)]
struct Found {
    hits: Vec<Hit>,
    rejected: Vec<Range<usize>>,
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

impl Found {
    fn blocked(&self, r: &Range<usize>) -> bool {
        self.rejected.iter().any(|x| overlaps(x, r))
            || self.hits.iter().any(|h| overlaps(&h.range(), r))
    }

    /// Adds a hit unless a stronger one covers the same bytes; a weaker one is replaced. What
    /// the weaker knew (name, target) is kept.
    fn add(&mut self, mut hit: Hit) {
        let r = hit.range();
        if self.rejected.iter().any(|x| overlaps(x, &r)) {
            return;
        }
        let mut i = 0;
        while i < self.hits.len() {
            if !overlaps(&self.hits[i].range(), &r) {
                i += 1;
                continue;
            }
            if self.hits[i].kind.rank >= hit.kind.rank {
                let old = &mut self.hits[i];
                if old.name.is_none() {
                    old.name = hit.name.take();
                }
                if old.target.is_none() {
                    old.target = hit.target.take();
                }
                return;
            }
            let old = self.hits.remove(i);
            hit.name = hit.name.or(old.name);
            hit.target = hit.target.or(old.target);
        }
        self.hits.push(hit);
    }

    fn finish(mut self) -> Vec<Hit> {
        self.hits.sort_by_key(|h| h.start);
        self.hits
    }
}

fn scan(text: &str) -> Found {
    let mut found = Found::default();
    format_hits(text, &mut found);
    pem_hits(text, &mut found);
    url_hits(text, &mut found);
    authorization_hits(text, &mut found);
    // Twilio SIDs are identifiers, whatever name they are assigned to.
    for (sid, _) in twilio_sids(text) {
        found.rejected.push(sid);
    }
    assignment_hits(text, &mut found);
    pair_text(text, &mut found);
    found
}

/// A format type compiled: the type, its anchor, its regex and its check.
type FormatRule = (&'static Kind, &'static str, Regex, fn(&str) -> bool);

struct Compiled {
    formats: Vec<FormatRule>,
    url: Regex,
    authorization: Regex,
    assignment: Regex,
    keywords: AhoCorasick,
    twilio_sid: Regex,
    aws_secret: Regex,
    hex32: Regex,
    alnum32: Regex,
}

static COMPILED: LazyLock<Compiled> = LazyLock::new(|| {
    // The patterns are constants of this module, tested to compile.
    let re = |p: &str| Regex::new(p).unwrap_or_else(|e| panic!("built-in pattern {p}: {e}"));
    let formats = KINDS
        .iter()
        .filter_map(|k| match &k.recognise {
            Recognise::Format {
                anchor,
                pattern,
                check,
            } => Some((k, *anchor, re(pattern), *check)),
            _ => None,
        })
        .collect();
    Compiled {
        formats,
        url: re(
            r#"(?P<scheme>[A-Za-z][A-Za-z0-9+.:-]{0,30})://(?P<user>[^\s:/?#@"'<>\[\]{}\\]{0,256}):(?P<pass>[^\s/?#@"'<>\[\]{}\\]{1,256})@(?P<host>[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{1,5}))?"#,
        ),
        authorization: re(
            r#"(?i)\b(?:proxy-)?authorization["']?[ \t]*[:=][ \t]*["']?(?P<scheme>bearer|token|basic)[ \t]+(?P<v>[A-Za-z0-9._~+/=-]{8,4096})"#,
        ),
        assignment: re(
            r#"^["'\]]?[ \t]*(?P<sep>:=|=>|==|=|:)[ \t]*(?:"(?P<dq>[^"\s]{1,1024})"|'(?P<sq>[^'\s]{1,1024})'|`(?P<bq>[^`\s]{1,1024})`|(?P<v>[^\s"'`,;&<>(){}\[\]|\\]{1,1024}))"#,
        ),
        keywords: AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build([
                "key",
                "token",
                "secret",
                "pass",
                "pwd",
                "_pw",
                "auth",
                "credential",
                "creds",
                "pat",
            ])
            .unwrap_or_else(|e| panic!("built-in keywords: {e}")),
        twilio_sid: re(r"(?P<kind>AC|SK)[0-9a-f]{32}"),
        aws_secret: re(r"[A-Za-z0-9/+]{40}"),
        hex32: re(r"[0-9a-f]{32}"),
        alnum32: re(r"[A-Za-z0-9]{32}"),
    }
});

/// Characters that continue a token: a match bordered by one of these is part of something
/// longer (a base64 blob, an identifier) and not the credential it looks like.
fn token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '/')
}

fn bordered(text: &str, r: &Range<usize>) -> bool {
    text[..r.start].chars().next_back().is_some_and(token_char)
        || text[r.end..].chars().next().is_some_and(token_char)
}

fn format_hits(text: &str, found: &mut Found) {
    for (kind, anchor, re, check) in &COMPILED.formats {
        if memchr::memmem::find(text.as_bytes(), anchor.as_bytes()).is_none() {
            continue;
        }
        for caps in re.captures_iter(text) {
            let Some(whole) = caps.get(0) else { continue };
            if bordered(text, &whole.range()) {
                continue;
            }
            let m = caps.name("s").unwrap_or(whole);
            let value = m.as_str();
            if !check(value) || validate::looks_fake(value) {
                found.rejected.push(m.range());
                continue;
            }
            let mut hit = Hit::new(kind, Secret::new(value), m.range());
            if kind.id == "jwt" {
                hit.target = validate::jwt_issuer(value).map(|iss| format!("issuer {iss}"));
            }
            if kind.id == "azure_storage_account_key" || kind.id == "azure_shared_access_key" {
                hit.target = connection_string_target(text, whole.start());
            }
            found.add(hit);
        }
    }
}

/// `AccountName=x` or `Endpoint=sb://x/` of the connection string around `at`.
fn connection_string_target(text: &str, at: usize) -> Option<String> {
    let line_start = text[..at].rfind(['\n', '"', '\'']).map_or(0, |p| p + 1);
    let line_end = text[at..]
        .find(['\n', '"', '\''])
        .map_or(text.len(), |p| at + p);
    text[line_start..line_end].split(';').find_map(|part| {
        let (k, v) = part.split_once('=')?;
        let k = k.trim();
        (k.eq_ignore_ascii_case("AccountName") || k.eq_ignore_ascii_case("Endpoint"))
            .then(|| format!("{k}={}", v.trim()))
    })
}

const PEM_BEGIN: &str = "-----BEGIN ";

fn pem_hits(text: &str, found: &mut Found) {
    let mut from = 0;
    while let Some(p) = text[from..].find(PEM_BEGIN) {
        let begin = from + p;
        from = begin + PEM_BEGIN.len();
        let rest = &text[from..];
        let Some(label_end) = rest.find("-----").filter(|&e| e <= 40) else {
            continue;
        };
        let label = &rest[..label_end];
        let Some(kind) = KINDS
            .iter()
            .find(|k| matches!(k.recognise, Recognise::Pem { label: l } if l == label))
        else {
            continue;
        };
        let body_start = from + label_end + 5;
        let footer = format!("-----END {label}-----");
        let window = &text[body_start..ceil(text, (body_start + 65536).min(text.len()))];
        let Some(body_len) = window.find(&footer) else {
            continue;
        };
        let range = begin..body_start + body_len + footer.len();
        match pem_body(&window[..body_len]) {
            Some(body) => {
                let canonical = format!("-----BEGIN {label}-----\n{body}\n{footer}");
                found.add(Hit::new(kind, Secret::new(canonical), range.clone()));
            }
            None => found.rejected.push(range.clone()),
        }
        from = range.end;
    }
}

/// The base64 body of a PEM block without line breaks (real or written `\n` as in JSON
/// strings), headers (`Proc-Type:`) and the OpenPGP checksum line; None when it is too short
/// or not base64, as in documentation that shows `MIIE...`.
fn pem_body(raw: &str) -> Option<String> {
    let unescaped = raw
        .replace("\\r", "")
        .replace("\\n", "\n")
        .replace('\r', "");
    let lines: Vec<&str> = unescaped
        .split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains(':'))
        .collect();
    let mut body = String::new();
    for (i, l) in lines.iter().enumerate() {
        let pgp_checksum = i + 1 == lines.len() && l.starts_with('=') && l.len() <= 5;
        if !pgp_checksum {
            body.push_str(l);
        }
    }
    let base64 = body
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    // DER is full of zero bytes (runs of `A`), so the placeholder test here looks only for
    // written-out filler, not for repeated characters.
    let lower = body.to_ascii_lowercase();
    let filler = ["xxxx", "example", "your", "paste", "redacted"]
        .iter()
        .any(|m| lower.contains(m));
    (base64 && body.len() >= 64 && !filler && validate::entropy(&body) >= 4.0).then_some(body)
}

fn url_hits(text: &str, found: &mut Found) {
    if !text.contains("://") {
        return;
    }
    for caps in COMPILED.url.captures_iter(text) {
        let (Some(scheme), Some(user), Some(pass), Some(host)) = (
            caps.name("scheme"),
            caps.name("user"),
            caps.name("pass"),
            caps.name("host"),
        ) else {
            continue;
        };
        let scheme_lower = scheme.as_str().to_ascii_lowercase();
        let password = percent_decode(pass.as_str());
        let host_lower = host.as_str().to_ascii_lowercase();
        let not_network = matches!(
            scheme_lower.as_str(),
            "javascript" | "data" | "file" | "blob" | "about" | "mailto"
        );
        let doc_host = not_network
            || host_lower.len() < 2
            || host_lower.contains("example")
            || host_lower.ends_with(".invalid")
            || matches!(
                host_lower.as_str(),
                "host" | "hostname" | "server" | "domain" | "your-host" | "yourhost"
            );
        if doc_host || !url_password_plausible(&password) {
            found.rejected.push(pass.range());
            continue;
        }
        let kind = KINDS
            .iter()
            .find(|k| {
                matches!(k.recognise, Recognise::UrlPassword { schemes } if schemes.contains(&scheme_lower.as_str()))
            })
            .unwrap_or_else(|| kind("url_password"));
        let port = caps
            .name("port")
            .map_or(String::new(), |p| format!(":{}", p.as_str()));
        let mut hit = Hit::new(kind, Secret::new(password), pass.range());
        hit.target = Some(format!(
            "{scheme_lower}://{}@{}{port}",
            shown_user(user.as_str()),
            host.as_str()
        ));
        found.add(hit);
    }
}

fn url_password_plausible(p: &str) -> bool {
    const DOC: &[&str] = &[
        "pass",
        "password",
        "passwd",
        "pwd",
        "pw",
        "secret",
        "changeme",
        "pass123",
        "mypassword",
        "yourpassword",
        "p@ssw0rd",
        "passw0rd",
    ];
    // A second `:` belongs to something else (`cvs://:pserver:anoncvs@host`): a URL's
    // password has its colons percent-encoded.
    p.chars().count() >= 4
        && !p.contains(':')
        && !DOC.contains(&p.to_ascii_lowercase().as_str())
        && !names::is_reference(p)
        && !p.starts_with('*')
        && !validate::looks_fake(p)
        && !p.contains("%s")
        && !names::is_placeholder(p)
}

/// The user name of a URL, header or `.netrc`, unless it looks like a secret itself.
pub fn shown_user(user: &str) -> String {
    let secretish =
        user.len() > 32 || validate::entropy(user) >= 3.5 || !scan(user).hits.is_empty();
    if secretish {
        "\u{2026}".into()
    } else {
        percent_decode(user)
    }
}

fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn authorization_hits(text: &str, found: &mut Found) {
    if !text
        .as_bytes()
        .windows(13)
        .any(|w| w.eq_ignore_ascii_case(b"authorization"))
    {
        return;
    }
    for caps in COMPILED.authorization.captures_iter(text) {
        let (Some(scheme), Some(v)) = (caps.name("scheme"), caps.name("v")) else {
            continue;
        };
        if let Some(hit) = authorization_value(scheme.as_str(), v.as_str(), v.start()) {
            found.add(hit);
        }
    }
}

/// A credential from an `Authorization` header value: `Bearer`/`Token` carry a token,
/// `Basic` carries base64 `user:password`. `at` is the offset of `value` in the text.
fn authorization_value(scheme: &str, value: &str, at: usize) -> Option<Hit> {
    let range = at..at + value.len();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(value)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())?;
        let (user, password) = decoded.split_once(':')?;
        if !url_password_plausible(password) || names::is_placeholder(password) {
            return None;
        }
        let mut hit = Hit::new(kind("http_basic_auth"), Secret::new(password), range);
        hit.target = Some(format!("user {}", shown_user(user)));
        return Some(hit);
    }
    names::plausible(NameClass::Token, value)
        .then(|| Hit::new(kind("generic_token"), Secret::new(value), range))
}

fn name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

/// `NAME = value`, `NAME: value`, `"NAME": "value"`, `--name=value`, `?name=value`: for each
/// credential keyword, the name around it and the value after it.
fn assignment_hits(text: &str, found: &mut Found) {
    let c = &*COMPILED;
    let b = text.as_bytes();
    let mut name_done_to = 0;
    for m in c.keywords.find_iter(text) {
        if m.start() < name_done_to {
            continue;
        }
        let mut ns = m.start();
        while ns > 0 && name_char(b[ns - 1]) && m.start() - ns < 80 {
            ns -= 1;
        }
        let mut ne = m.end();
        while ne < b.len() && name_char(b[ne]) && ne - m.end() < 80 {
            ne += 1;
        }
        name_done_to = ne;
        // References, template variables and paths (`AWS::IAM::AccessKey`) are not names.
        if ns > 0 && (matches!(b[ns - 1], b'$' | b'%' | b'{') || text[..ns].ends_with("::")) {
            continue;
        }
        while ns < ne && !(b[ns].is_ascii_alphabetic() || b[ns] == b'_') {
            ns += 1;
        }
        let name = &text[ns..ne];
        if name.is_empty() {
            continue;
        }
        let Some(caps) = c.assignment.captures(&text[ne..]) else {
            continue;
        };
        let Some(v) = ["dq", "sq", "bq", "v"].iter().find_map(|g| caps.name(g)) else {
            continue;
        };
        if is_code(text, ne, &caps) {
            continue;
        }
        let value = v.as_str().trim_end_matches('.');
        let r = ne + v.start()..ne + v.start() + value.len();
        if found.blocked(&r) {
            // A format already claimed it: the name still says where it was assigned.
            if let Some(h) = found.hits.iter_mut().find(|h| h.range() == r) {
                h.name.get_or_insert_with(|| name.to_string());
            }
            continue;
        }
        let Some(class) = names::classify(name) else {
            continue;
        };
        if class == NameClass::Authorization {
            continue; // handled with its scheme by authorization_hits
        }
        if let Some(mut hit) = by_name(name, class, value) {
            hit.start += r.start;
            hit.end += r.start;
            found.add(hit);
        }
    }
}

/// Code rather than configuration: a comparison (`a == b`), a path (`Password::new`), a call
/// or index (`x = f(...)`, `os.environ[...]`), or a type annotation (`key: KeyType,`,
/// `TOKEN: &str = ...`). `at` is where the name ends in `text`.
fn is_code(text: &str, at: usize, caps: &regex::Captures<'_>) -> bool {
    let sep = caps.name("sep").map_or("", |s| s.as_str());
    if sep == "==" || text[at..].starts_with("::") {
        return true;
    }
    let Some(v) = caps.name("v") else {
        return false; // quoted: a literal
    };
    let rest = &text[at + v.end()..];
    if matches!(rest.bytes().next(), Some(b'(' | b'[' | b'<')) {
        return true;
    }
    // `x = identifier;` ending a statement. A connection string's `Password=x;` has no
    // spaces around `=`.
    let spaced = text[at..at + v.start()].contains([' ', '\t']);
    if let Some(after) = rest.strip_prefix(';').filter(|_| spaced) {
        let tail = after.trim_start_matches([' ', '\t']);
        if tail.is_empty() || tail.starts_with(['\n', '\r']) || tail.starts_with("//") {
            return true;
        }
    }
    sep == ":"
        && matches!(
            rest.trim_start_matches([' ', '\t']).bytes().next(),
            Some(b',' | b';' | b'=' | b')' | b'{')
        )
}

fn floor(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// A value judged by the name it is assigned to. Offsets of the hit are within `value`.
fn by_name(name: &str, class: NameClass, value: &str) -> Option<Hit> {
    let value = value.trim();
    if class == NameClass::Authorization {
        let (scheme, rest) = value.split_once(' ')?;
        let rest_trimmed = rest.trim_start();
        let at = value.len() - rest_trimmed.len();
        return authorization_value(scheme, rest_trimmed, at).map(|mut h| {
            h.name = Some(name.to_string());
            h
        });
    }
    let w = names::words(name);
    let has = |x: &str| w.iter().any(|y| y == x);
    let specific =
        if (has("aws") || has("amazon")) && has("secret") && validate::aws_secret_shape(value) {
            Some("aws_secret_access_key")
        } else if has("aws") && has("session") && validate::long_base64_shape(value) {
            Some("aws_session_token")
        } else if has("twilio") && (has("auth") || has("token")) && validate::hex32(value) {
            Some("twilio_auth_token")
        } else if has("twilio") && has("secret") && validate::alnum32(value) {
            Some("twilio_api_key_secret")
        } else if has("azure") && validate::azure_key_shape(value) {
            Some("azure_storage_account_key")
        } else {
            None
        };
    let mut hit = match specific {
        Some(id) => Hit::new(kind(id), Secret::new(value), 0..value.len()),
        None => {
            let key_words = [
                "api", "apikey", "secret", "auth", "access", "session", "private",
            ];
            let uuid_as_key = key_words.iter().any(|x| has(x));
            if !names::plausible(class, value) || (names::is_uuid(value) && !uuid_as_key) {
                return None;
            }
            let id = match class {
                NameClass::Password => "password",
                NameClass::ApiKey => "generic_api_key",
                NameClass::Token | NameClass::Authorization => "generic_token",
                NameClass::Secret => "generic_secret",
            };
            let mut h = Hit::new(kind(id), Secret::new(value), 0..value.len());
            if let Some(v) = VENDORS.iter().find(|v| v.words.iter().any(|x| has(x))) {
                let k = kind(v.kind);
                h.service = k.service;
                h.rotation = k.rotation;
            }
            h
        }
    };
    hit.name = Some(name.to_string());
    Some(hit)
}

/// How far from a key id its secret is looked for in free text.
const PAIR_WINDOW: usize = 1024;

/// AWS secret keys next to an AWS key id, Twilio tokens next to an account or API key SID.
fn pair_text(text: &str, found: &mut Found) {
    let c = &*COMPILED;
    let mut anchors: Vec<(usize, &'static str, &'static Regex)> = found
        .hits
        .iter()
        .filter(|h| h.kind.id.starts_with("aws_") && h.kind.id.ends_with("key_id"))
        .map(|h| (h.start, "aws_secret_access_key", &c.aws_secret))
        .collect();
    for (sid, account) in twilio_sids(text) {
        anchors.push(if account {
            (sid.start, "twilio_auth_token", &c.hex32)
        } else {
            (sid.start, "twilio_api_key_secret", &c.alnum32)
        });
    }
    for (at, id, re) in anchors {
        let k = kind(id);
        let Recognise::Context { shape } = k.recognise else {
            continue;
        };
        let lo = floor(text, at.saturating_sub(PAIR_WINDOW));
        let hi = ceil(text, (at + PAIR_WINDOW).min(text.len()));
        for m in re.find_iter(&text[lo..hi]) {
            let r = lo + m.start()..lo + m.end();
            if bordered(text, &r) || found.blocked(&r) || !shape(m.as_str()) {
                continue;
            }
            found.add(Hit::new(k, Secret::new(m.as_str()), r));
        }
    }
}

/// Twilio account (`AC...`, true) and API key (`SK...`, false) SIDs in the text.
fn twilio_sids(text: &str) -> Vec<(Range<usize>, bool)> {
    if !text.contains("AC") && !text.contains("SK") {
        return Vec::new();
    }
    COMPILED
        .twilio_sid
        .captures_iter(text)
        .filter_map(|caps| {
            let (m, k) = (caps.get(0)?, caps.name("kind")?);
            (!bordered(text, &m.range())).then(|| (m.range(), k.as_str() == "AC"))
        })
        .collect()
}

/// Pairs across the fields of one object: a secret-shaped value in a field next to a key id.
fn pair_fields(fields: &[Field<'_>], per_field: &mut [Found]) {
    let has_kind = |pred: &dyn Fn(&Hit) -> bool| per_field.iter().any(|f| f.hits.iter().any(pred));
    let aws = has_kind(&|h| h.kind.id.starts_with("aws_") && h.kind.id.ends_with("key_id"));
    let trimmed = |f: &Field<'_>| f.value.trim().to_string();
    let account_sid = fields.iter().any(|f| is_sid(f.value.trim(), "AC"));
    let api_key_sid = fields.iter().any(|f| is_sid(f.value.trim(), "SK"));
    let service_account = fields.iter().any(|f| {
        let v = f.value.trim();
        v.ends_with(".iam.gserviceaccount.com")
            || (f.name == Some("type") && v == "service_account")
    });
    for (f, found) in fields.iter().zip(per_field.iter_mut()) {
        let v = trimmed(f);
        let offset = f.value.len() - f.value.trim_start().len();
        let whole = offset..offset + v.len();
        let id = if aws && validate::aws_secret_shape(&v) {
            Some("aws_secret_access_key")
        } else if account_sid && validate::hex32(&v) {
            Some("twilio_auth_token")
        } else if api_key_sid && validate::alnum32(&v) {
            Some("twilio_api_key_secret")
        } else {
            None
        };
        if let Some(id) = id {
            let mut hit = Hit::new(kind(id), Secret::new(v.clone()), whole);
            hit.name = f.name.map(str::to_string);
            found.add(hit);
        }
        if service_account {
            let gcp = kind("gcp_service_account_key");
            for h in &mut found.hits {
                if h.kind.id == "pkcs8_private_key" {
                    h.kind = gcp;
                    h.service = gcp.service;
                    h.rotation = gcp.rotation;
                }
            }
        }
    }
}

fn is_sid(v: &str, prefix: &str) -> bool {
    v.len() == 34
        && v.starts_with(prefix)
        && v[2..]
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests;
