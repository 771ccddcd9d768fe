//! Structural checks of candidate secrets: checksums where the format has one, decodable
//! headers, character mix and entropy, and the tell-tale signs of documentation placeholders.

use base64::Engine;

/// Shannon entropy of the characters of `s`, in bits per character.
pub fn entropy(s: &str) -> f64 {
    let mut counts = std::collections::HashMap::<char, u32>::new();
    let mut n = 0u32;
    for c in s.chars() {
        *counts.entry(c).or_default() += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let n = f64::from(n);
    counts
        .values()
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Marks of a value written for documentation or tests rather than issued by a service:
/// "example", runs of x or *, an ellipsis, six identical characters, or six consecutive
/// letters or digits in any case (`abcdef`, `defGHi`, `123456`). Random tokens essentially
/// never contain these.
pub fn looks_fake(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    const MARKS: &[&str] = &[
        "example",
        "xxxx",
        "****",
        "...",
        "\u{2026}",
        "placeholder",
        "dummy",
        "sample",
        "redacted",
        "changeme",
    ];
    if MARKS.iter().any(|m| lower.contains(m)) {
        return true;
    }
    let b = s.as_bytes();
    let mut same = 1;
    let mut sequential = 1;
    for w in b.windows(2) {
        same = if w[1] == w[0] { same + 1 } else { 1 };
        let (a, b) = (w[0].to_ascii_lowercase(), w[1].to_ascii_lowercase());
        sequential = if a.is_ascii_alphanumeric() && b == a.wrapping_add(1) {
            sequential + 1
        } else {
            1
        };
        if same >= 6 || sequential >= 6 {
            return true;
        }
    }
    false
}

/// For formats without a checksum: not a placeholder, and not a low-entropy filler.
pub fn random_enough(s: &str) -> bool {
    !looks_fake(s) && entropy(s) >= 3.0
}

pub fn never(_: &str) -> bool {
    false
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// GitHub's (and npm's) token checksum: the last 6 characters are the CRC32 of the random
/// part before them, in base62, left-padded with zeros. A token that fails it was typed by
/// hand (documentation, tests) and is not a real token.
pub fn github_checksum(token: &str) -> bool {
    let Some((_, body)) = token.split_once('_') else {
        return false;
    };
    if body.len() <= 6 || !body.is_ascii() {
        return false;
    }
    let (random, check) = body.split_at(body.len() - 6);
    base62_6(crc32fast::hash(random.as_bytes())) == check
}

/// Refresh tokens come in longer shapes whose checksum is not documented: those are judged
/// by randomness only.
pub fn github_refresh_checksum(token: &str) -> bool {
    if token.len() == 40 {
        github_checksum(token)
    } else {
        random_enough(token)
    }
}

/// `n` in base62 as 6 digits.
pub fn base62_6(mut n: u32) -> String {
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A JSON Web Token: three base64url parts whose header decodes to a JSON object with an
/// `alg` (not `none`: an unsigned token authenticates nothing) and whose payload decodes to a
/// JSON object. jwt.io's well-known sample token is documentation, not a credential.
pub fn jwt(token: &str) -> bool {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(_sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Some(header) = decode_json_object(h) else {
        return false;
    };
    let alg_ok = header
        .get("alg")
        .and_then(|a| a.as_str())
        .is_some_and(|a| !a.eq_ignore_ascii_case("none"));
    let Some(payload) = decode_json_object(p) else {
        return false;
    };
    let jwt_io_sample = payload.get("sub").and_then(|v| v.as_str()) == Some("1234567890")
        && payload.get("name").and_then(|v| v.as_str()) == Some("John Doe");
    alg_ok && !jwt_io_sample
}

/// The `iss` claim of a JWT, when it has a readable one: who to revoke it at.
pub fn jwt_issuer(token: &str) -> Option<String> {
    let payload = decode_json_object(token.split('.').nth(1)?)?;
    let iss = payload.get("iss")?.as_str()?;
    (iss.len() <= 200).then(|| iss.to_string())
}

fn decode_json_object(part: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        serde_json::Value::Object(m) => Some(m),
        _ => None,
    }
}

/// An AWS secret access key: 40 characters of base64, mixed case, random.
pub fn aws_secret_shape(s: &str) -> bool {
    s.len() == 40
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+')
        && s.bytes().any(|b| b.is_ascii_uppercase())
        && s.bytes().any(|b| b.is_ascii_lowercase())
        && s.bytes()
            .any(|b| b.is_ascii_digit() || b == b'/' || b == b'+')
        && !looks_fake(s)
        && entropy(s) >= 4.0
}

/// A long base64 blob (AWS session tokens run to hundreds of characters).
pub fn long_base64_shape(s: &str) -> bool {
    s.len() >= 100
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'+' | b'='))
        && !looks_fake(s)
        && entropy(s) >= 4.5
}

/// 32 lowercase hex digits (a Twilio auth token).
pub fn hex32(s: &str) -> bool {
    s.len() == 32
        && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && !looks_fake(s)
        && entropy(s) >= 3.0
}

/// 32 letters and digits, mixed (a Twilio API key secret).
pub fn alnum32(s: &str) -> bool {
    s.len() == 32
        && s.bytes().all(|b| b.is_ascii_alphanumeric())
        && s.bytes().any(|b| b.is_ascii_uppercase())
        && s.bytes().any(|b| b.is_ascii_lowercase())
        && s.bytes().any(|b| b.is_ascii_digit())
        && !looks_fake(s)
}

/// An Azure storage account key: 64 random bytes in base64 (88 characters ending `==`).
pub fn azure_key_shape(s: &str) -> bool {
    s.len() == 88
        && s.ends_with("==")
        && s[..86]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+')
        && random_enough(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_checksum_accepts_real_shapes_and_rejects_documentation_tokens() {
        // Computed here, not copied: 30 random characters plus their checksum.
        let random = "Zq7Lm2Xc9Vb4Nn8Kk1Jj6Hh3Gg5Ff0";
        let token = format!(
            "ghp_{random}{}",
            base62_6(crc32fast::hash(random.as_bytes()))
        );
        assert!(github_checksum(&token), "{token}");
        let mut broken = token.clone();
        broken.pop();
        broken.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert!(!github_checksum(&broken));
        // The sample OAuth token in GitHub's own documentation fails its checksum.
        assert!(!github_checksum("gho_16C7e42F292c6912E7710c838347Ae178B4a"));
        assert_eq!(base62_6(0), "000000");
        assert_eq!(base62_6(61), "00000z");
        assert_eq!(base62_6(62), "000010");
    }

    #[test]
    fn placeholders_are_recognised() {
        for fake in [
            "AKIAIOSFODNN7EXAMPLE",
            "sk-proj-xxxxxxxxxxxxxxxxxxxx",
            "ghp_abcdefghijklmnopqrstuvwxyzABCD012345",
            "aaaaaaaaaaaa",
            "sk-1234567890",
        ] {
            assert!(looks_fake(fake), "{fake}");
        }
        assert!(!looks_fake("Zq7Lm2Xc9Vb4Nn8Kk1Jj6Hh3Gg5Ff0"));
    }

    #[test]
    fn jwt_needs_a_json_header_with_alg() {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let tok = |h: &str, p: &str| format!("{}.{}.c2lnbmF0dXJlLXNpZ25hdHVyZQ", b64(h), b64(p));
        assert!(jwt(&tok(
            r#"{"alg":"HS256","typ":"JWT"}"#,
            r#"{"sub":"svc-7","iss":"https://idp.corp"}"#
        )));
        assert!(!jwt(&tok(r#"{"alg":"none"}"#, r#"{"sub":"a"}"#)));
        assert!(!jwt(&tok(r#"{"typ":"JWT"}"#, r#"{"sub":"a"}"#)));
        assert!(!jwt(&tok(r#"{"alg":"HS256"}"#, "not json")));
        assert!(!jwt("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"));
        assert_eq!(
            jwt_issuer(&tok(r#"{"alg":"HS256"}"#, r#"{"iss":"https://idp.corp"}"#)).as_deref(),
            Some("https://idp.corp")
        );
    }

    #[test]
    fn entropy_of_simple_strings() {
        assert_eq!(entropy(""), 0.0);
        assert_eq!(entropy("aaaa"), 0.0);
        assert!((entropy("abcd") - 2.0).abs() < 1e-9);
    }
}
