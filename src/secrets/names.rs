//! Values found by the name they are assigned to (`*_TOKEN`, `*_KEY`, `*_SECRET`, `PASSWORD`,
//! `API_KEY`, ...): what a name says, and whether a value is a real secret rather than a
//! reference, a placeholder or a test value.

use super::validate::{entropy, looks_fake};

/// What a variable name says its value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameClass {
    Password,
    ApiKey,
    Token,
    Secret,
    /// An HTTP `Authorization` header: a scheme and a credential.
    Authorization,
}

/// Lowercase words of a name: split at `_ - . :` and spaces, and between a lowercase letter
/// and an uppercase one (`apiKey` → `api`, `key`).
pub fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Keys that are not secrets even though their name ends in `key`.
const NOT_SECRET_QUALIFIERS: &[&str] = &[
    "public",
    "publishable",
    "pub",
    "cache",
    "sort",
    "partition",
    "primary",
    "foreign",
    "idempotency",
    "dedup",
    "lookup",
    "next",
    "continuation",
    "page",
    "hash",
    "row",
    "range",
    "object",
    "map",
    "host",
    "hot",
    "react",
    "translation",
    "i18n",
    "license",
    "activation",
    "product",
    // API and SDK vocabulary: idempotency and pagination tokens, object keys, result keys.
    "request",
    "lock",
    "change",
    "pagination",
    "purchase",
    "verification",
    "lifecycle",
    "update",
    "sync",
    "input",
    "output",
    "result",
    "context",
    "s3",
    "bucket",
];

/// Trailing words that only say how the value is stored (`SECRET_KEY_BASE`, `TOKEN_VALUE`).
const STORAGE_SUFFIXES: &[&str] = &[
    "value", "base", "b64", "base64", "hex", "encoded", "str", "string", "data",
];

/// The class of a credential-like name, or None for every other name.
pub fn classify(name: &str) -> Option<NameClass> {
    if name.len() > 80 {
        return None;
    }
    let mut w = words(name);
    while w.len() > 1
        && w.last()
            .is_some_and(|l| STORAGE_SUFFIXES.contains(&l.as_str()))
    {
        w.pop();
    }
    let last = w.last()?.as_str();
    if w.iter()
        .any(|x| NOT_SECRET_QUALIFIERS.contains(&x.as_str()))
    {
        return None;
    }
    // AWS's `ClientToken` is an idempotency token.
    if last == "token" && w.len() > 1 && w[w.len() - 2] == "client" {
        return None;
    }
    let class = match last {
        "password" | "passwd" | "pwd" | "pass" | "passphrase" | "passcode" | "pw" => {
            NameClass::Password
        }
        "token" | "accesstoken" | "authtoken" | "refreshtoken" | "apitoken" | "bearer" => {
            NameClass::Token
        }
        // `GITHUB_PAT`; not `PAT` alone (a name) nor `HEX_PAT` (a pattern).
        "pat"
            if w.len() > 1
                && [
                    "github", "gh", "gitlab", "gl", "ado", "azure", "devops", "personal", "access",
                ]
                .contains(&w[w.len() - 2].as_str()) =>
        {
            NameClass::Token
        }
        // `_auth` (.npmrc), `basic_auth`, `proxy-auth`; not `MAIL_AUTH` (a crate name).
        "auth"
            if name.starts_with('_')
                || (w.len() > 1
                    && ["basic", "http", "proxy", "api", "npm", "registry", "bearer"]
                        .contains(&w[w.len() - 2].as_str())) =>
        {
            NameClass::Token
        }
        "apikey" | "secretkey" | "accesskey" | "privatekey" | "authkey" | "masterkey"
        | "signingkey" | "encryptionkey" | "appkey" | "clientkey" => NameClass::ApiKey,
        // A bare `key` is everywhere in JSON; it needs a qualifier (`api_key`, `access-key`).
        "key" if w.len() > 1 => NameClass::ApiKey,
        "secret" | "secrets" | "clientsecret" | "apisecret" | "credential" | "credentials"
        | "creds" => NameClass::Secret,
        "authorization" => NameClass::Authorization,
        _ => return None,
    };
    Some(class)
}

/// Whether `value`, assigned to a name of class `class`, is a real secret: not a reference
/// to somewhere else (`${VAR}`, `$VAR`, `%VAR%`, `{{ secrets.X }}`, `os.environ[...]`, a file
/// path or URL), not a placeholder or test value, and random enough for its class.
pub fn plausible(class: NameClass, value: &str) -> bool {
    if value.is_empty() || value.len() > 4096 || value.chars().any(char::is_whitespace) {
        return false;
    }
    if class != NameClass::Password && value.contains(TOKEN_FORBIDDEN) {
        return false;
    }
    if is_reference(value) || is_placeholder(value) || is_code_reference(value) {
        return false;
    }
    if class != NameClass::Password && identifier_like(value) {
        return false;
    }
    let classes = char_classes(value);
    match class {
        NameClass::Password => {
            let letters = value.bytes().any(|b| b.is_ascii_alphabetic());
            let others = value.bytes().any(|b| !b.is_ascii_alphabetic());
            value.chars().count() >= 8 && letters && others && entropy(value) >= 2.5
        }
        NameClass::ApiKey | NameClass::Token | NameClass::Secret | NameClass::Authorization => {
            let n = value.chars().count();
            let needed = (0.8 * (n as f64).log2()).min(3.5);
            n >= 16 && classes >= 2 && entropy(value) >= needed && !word_like(value)
        }
    }
}

/// Characters API keys and tokens do not contain (passwords may): brackets, quotes,
/// separators of code and prose.
const TOKEN_FORBIDDEN: &[char] = &[
    '#', '(', ')', '[', ']', '{', '}', '\\', ',', ';', '|', '<', '>', '"', '\'', '`',
];

/// An identifier in camelCase, PascalCase or snake_case with no digits and every part at
/// least 3 letters (`ApiGatewayApiKey`, `xmlSecKeysMngrGetKey`): a type or a variable.
fn identifier_like(v: &str) -> bool {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_') {
        return false;
    }
    words(v).iter().all(|w| w.len() >= 3)
}

/// `8-4-4-4-12` hex: a UUID, which is an identifier (request ids, idempotency tokens) unless
/// the name says it is a key.
pub fn is_uuid(v: &str) -> bool {
    let parts: Vec<&str> = v.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// How many of lowercase, uppercase, digit are present.
fn char_classes(s: &str) -> u8 {
    let b = s.as_bytes();
    u8::from(b.iter().any(u8::is_ascii_lowercase))
        + u8::from(b.iter().any(u8::is_ascii_uppercase))
        + u8::from(b.iter().any(u8::is_ascii_digit))
}

/// A pointer to where the secret really lives: environment and template references,
/// secret-manager URIs, file paths and URLs.
pub fn is_reference(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    v.starts_with('$')
        || v.starts_with('%')
        || v.starts_with('/')
        || v.starts_with("./")
        || v.starts_with("../")
        || v.starts_with('~')
        || v.starts_with('@')
        || v.starts_with('!')
        || v.contains("${")
        || v.contains("{{")
        || v.contains("}}")
        || v.contains("$(")
        || v.contains('<')
        || v.contains('>')
        || lower.contains("://")
        || lower.contains("process.env")
        || lower.contains("os.environ")
        || lower.contains("getenv")
        || lower.starts_with("env:")
        || lower.starts_with("env.")
        || lower.starts_with("secrets.")
        || lower.starts_with("vault:")
        || lower.starts_with("arn:aws:")
        || (v.len() > 2 && v.as_bytes()[1] == b':' && matches!(v.as_bytes()[2], b'\\' | b'/'))
        || has_file_extension(&lower)
}

fn has_file_extension(lower: &str) -> bool {
    const EXT: &[&str] = &[
        ".pem", ".key", ".json", ".txt", ".p12", ".pfx", ".crt", ".cer", ".der", ".pub", ".yaml",
        ".yml", ".env", ".toml", ".ini", ".cfg", ".conf",
    ];
    EXT.iter().any(|e| lower.ends_with(e))
}

/// Words that make a value a placeholder or an obvious test value.
pub fn is_placeholder(v: &str) -> bool {
    if looks_fake(v) || v.starts_with('*') {
        return true;
    }
    let lower = v.to_ascii_lowercase();
    const WORDS: &[&str] = &[
        "change_me",
        "change-me",
        "your",
        "todo",
        "fixme",
        "insert",
        "replace",
        "here",
        "xxx",
        "***",
        "test",
        "demo",
        "mock",
        "fake",
        "foobar",
        "lorem",
        "password",
        "secret",
        "undefined",
        "required",
        "optional",
        "none",
        "null",
        "true",
        "false",
        "default",
        "token",
        "hunter2",
        "letmein",
        "qwerty",
        "admin123",
    ];
    WORDS.iter().any(|w| lower.contains(w))
}

/// Code, not data: `settings.API_KEY`, `self.token`, `CONSTANT_NAME`, `snake_case_name`.
fn is_code_reference(v: &str) -> bool {
    let ident = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    if v.contains("::") || v.contains("->") {
        return true;
    }
    let dotted = v.contains('.') && v.split('.').all(ident);
    let upper_constant = ident(v)
        && v.contains('_')
        && !v.bytes().any(|b| b.is_ascii_lowercase())
        && v.bytes().filter(u8::is_ascii_digit).count() < 4;
    let snake = ident(v)
        && v.contains('_')
        && !v
            .bytes()
            .any(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    dotted || upper_constant || snake
}

/// Mostly made of words (`ParentOplockKey`, `getAccessTokenFromEnv`): identifiers, not
/// random values. A word here is a run of 4+ letters (split at case changes, digits and
/// punctuation) with at least 20% vowels; a value is word-like when 70% of its letters and
/// digits are in words and it has at most 2 digits. Measured on random values: 0.3% of
/// 16-character base62 (0.07% at 24) and 4% of 16-character lowercase-and-digit values
/// (0.8% at 24) look word-like.
pub fn word_like(v: &str) -> bool {
    fn is_word(seg: &[u8]) -> bool {
        let vowels = seg.iter().filter(|c| b"aeiouyAEIOUY".contains(c)).count();
        seg.len() >= 4 && seg.iter().all(u8::is_ascii_alphabetic) && vowels * 5 >= seg.len()
    }
    let b = v.as_bytes();
    let mut in_words = 0;
    let mut start = 0;
    let mut flush = |from: usize, to: usize| {
        if to > from && is_word(&b[from..to]) {
            in_words += to - from;
        }
    };
    for i in 0..b.len() {
        let c = b[i];
        if !c.is_ascii_alphanumeric() {
            flush(start, i);
            start = i + 1;
            continue;
        }
        if i > start {
            let p = b[i - 1];
            let digit_change = p.is_ascii_digit() != c.is_ascii_digit();
            let camel = p.is_ascii_lowercase() && c.is_ascii_uppercase();
            // `HTMLParser`: the last capital of a run starts the next word.
            let acronym_end = p.is_ascii_uppercase()
                && c.is_ascii_lowercase()
                && i - start >= 2
                && b[start..i].iter().all(u8::is_ascii_uppercase);
            if digit_change || camel {
                flush(start, i);
                start = i;
            } else if acronym_end {
                flush(start, i - 1);
                start = i - 1;
            }
        }
    }
    flush(start, b.len());
    let alnum = b.iter().filter(|c| c.is_ascii_alphanumeric()).count();
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    alnum > 0 && in_words * 10 >= alnum * 7 && digits <= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            words("githubPersonalAccessToken"),
            ["github", "personal", "access", "token"]
        );
        assert_eq!(words("X-Api-Key"), ["x", "api", "key"]);
        for (name, class) in [
            ("GITHUB_TOKEN", Some(NameClass::Token)),
            ("api_key", Some(NameClass::ApiKey)),
            ("apiKey", Some(NameClass::ApiKey)),
            ("X-API-KEY", Some(NameClass::ApiKey)),
            ("AWS_SECRET_ACCESS_KEY", Some(NameClass::ApiKey)),
            ("client_secret", Some(NameClass::Secret)),
            ("DB_PASSWORD", Some(NameClass::Password)),
            ("SECRET_KEY_BASE", Some(NameClass::ApiKey)),
            ("client-key-data", Some(NameClass::ApiKey)),
            ("Authorization", Some(NameClass::Authorization)),
            ("key", None),
            ("public_key", None),
            ("cache_key", None),
            ("stripe_publishable_key", None),
            ("AWS_ACCESS_KEY_ID", None),
            ("token_type", None),
            ("monkey", None),
            ("password_file", None),
            ("pat", None),
            ("MAIL_AUTH", None),
            ("_auth", Some(NameClass::Token)),
            ("PROXY_AUTH", Some(NameClass::Token)),
            ("GITHUB_PAT", Some(NameClass::Token)),
            ("HEX_PAT", None),
            ("ClientToken", None),
            ("RequestToken", None),
            ("result_key", None),
            ("S3Key", None),
        ] {
            assert_eq!(classify(name), class, "{name}");
        }
    }

    #[test]
    fn plausible_values() {
        use NameClass::*;
        assert!(plausible(Token, "q8Vd2LrX0pT6mZ4cN1bH7kS9"));
        assert!(plausible(ApiKey, "4f9c2a7e1b8d3f6a0c5e9b2d7a4f1c8e"));
        assert!(plausible(Password, "Rk7#pQ2!vW9z"));
        for v in [
            "${GITHUB_TOKEN}",
            "$TOKEN",
            "%API_KEY%",
            "{{ secrets.TOKEN }}",
            "<your-key>",
            "changeme",
            "your-api-key-here",
            "xxxxxxxxxxxxxxxxxxxx",
            "****************",
            "settings.OPENAI_API_KEY",
            "OPENAI_API_KEY_FROM_ENV",
            "/run/secrets/token",
            "~/.ssh/id_ed25519",
            "key.pem",
            "https://vault.corp/v1/token",
            "test-token-1234567890abc",
            "windows_sys::core::GUID",
            "ParentOplockKey_Interface_Pointer",
            "yegor256/home#assets/crates-credentials",
            "NumberAttributeConstraints",
            "ApiGatewayApiKey",
            "export-token-cu4lg26ofcziixny",
            "[0-9A-Fa-f]{1,4}",
            "eyJ2IjoiMSIsInMiOjEsImMiOi...",
            "short",
            "123e4567",
        ] {
            assert!(!plausible(Token, v), "{v}");
        }
        assert!(!plausible(Password, "postgres"));
        assert!(!plausible(Password, "12345678"));
        assert!(is_uuid("123e4567-e89b-42d3-a456-426614174000"));
        assert!(!is_uuid("123e4567-e89b-42d3-a456-42661417400"));
        assert!(word_like("HTMLParserTokenStream"));
        assert!(word_like("getAccessTokenFromEnvironment"));
        assert!(!word_like("vxwgSIwvZJVDV0udHpualKCsPfEXmwseg7PlapR4"));
        assert!(!word_like("4f9c2a7e1b8d3f6a0c5e9b2d7a4f1c8e"));
    }
}
