//! RFC 8785 JSON Canonicalization Scheme (JCS): one byte sequence per JSON value, so a hash
//! never depends on key order, whitespace or how a number or string was escaped.
//!
//! Written here rather than taken from a crate because the one hard part, ECMAScript number
//! formatting, is a few lines on top of Rust's shortest round-trip float formatting, and the
//! tests check it against Node's own `String(number)` on random doubles.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The canonical UTF-8 bytes of `value` (RFC 8785 section 3.2).
pub fn canonicalize(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(&mut out, value);
    out
}

/// Canonical form as a string (always valid UTF-8).
pub fn canonical_string(value: &Value) -> String {
    // The writer only ever pushes UTF-8 from `&str`s and ASCII.
    String::from_utf8(canonicalize(value)).unwrap_or_default()
}

/// Lowercase hex sha256 of the canonical bytes.
pub fn canonical_sha256(value: &Value) -> String {
    hex::encode(Sha256::digest(canonicalize(value)))
}

fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            // I-JSON: every number is an IEEE 754 double (u64/i64 above 2^53 round here, as
            // they would in any JSON parser that reads doubles).
            let f = n.as_f64().unwrap_or(f64::NAN);
            out.extend_from_slice(format_number(f).as_bytes());
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // Keys sorted by their UTF-16 code units (RFC 8785 section 3.2.3), which differs
            // from byte order only for characters above U+FFFF against U+E000..U+FFFF.
            let mut keys: Vec<(&String, &Value)> = map.iter().collect();
            keys.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push(b'{');
            for (i, (k, v)) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, k);
                out.push(b':');
                write_value(out, v);
            }
            out.push(b'}');
        }
    }
}

/// JSON string as ECMAScript `JSON.stringify` writes it: only `"`, `\` and control characters
/// are escaped; everything else is literal UTF-8.
fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            0x08 => Some(b"\\b"),
            0x09 => Some(b"\\t"),
            0x0A => Some(b"\\n"),
            0x0C => Some(b"\\f"),
            0x0D => Some(b"\\r"),
            0x00..=0x1F => None,
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        match esc {
            Some(e) => out.extend_from_slice(e),
            None => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// ECMAScript `Number::toString(x)` (ECMA-262 section 6.1.6.1.20) for a finite double.
///
/// The digits are the shortest that read back as the same double (see [`shortest_digits`]);
/// the layout (plain, fraction, or exponent) follows the ECMAScript steps. NaN and
/// infinities cannot come out of JSON and are written as `null`, as `JSON.stringify` does.
pub fn format_number(x: f64) -> String {
    if !x.is_finite() {
        return "null".to_string();
    }
    if x == 0.0 {
        return "0".to_string(); // also -0
    }
    let (digits, exp) = shortest_digits(x.abs());
    let k = digits.len() as i32;
    let n = exp + 1; // value = 0.digits × 10^n
    let mut out = String::with_capacity(k as usize + 8);
    if x < 0.0 {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        out.push_str(&(n - 1).abs().to_string());
    }
    out
}

/// The shortest decimal digits that read back as `x` (positive, finite), and the decimal
/// exponent of the first digit, as ECMAScript chooses them.
///
/// Rust's `{:e}` gives the shortest round-tripping digits, the closest to `x` when several
/// qualify. When `x` lies exactly halfway between two such candidates, ECMAScript takes the
/// even one and Rust the upper, e.g. 1424953923781206.25 is `…206.2` in ECMAScript. That can
/// only happen with 16 or more digits (the two candidates must be closer together than one
/// ulp), so only then is the exact expansion of `x` consulted.
pub fn shortest_digits(x: f64) -> (String, i32) {
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    let k = digits.len();
    if k < 16 {
        return (digits, exp);
    }
    // A double's exact decimal expansion has at most 767 significant digits.
    let exact = format!("{x:.800e}");
    let (m, e) = exact.split_once('e').unwrap_or((exact.as_str(), "0"));
    if e.parse::<i32>().ok() != Some(exp) {
        return (digits, exp);
    }
    let all: String = m.chars().filter(char::is_ascii_digit).collect();
    let (prefix, rest) = all.split_at(k.min(all.len()));
    if rest.trim_end_matches('0') != "5" {
        return (digits, exp);
    }
    // Exactly halfway between `prefix` and `prefix + 1` (which cannot carry: the even
    // choice only adds one to an odd last digit).
    let last = prefix.as_bytes()[k - 1] - b'0';
    let even = if last.is_multiple_of(2) {
        prefix.to_string()
    } else {
        format!("{}{}", &prefix[..k - 1], last + 1)
    };
    let reads_back = format!("{}.{}e{exp}", &even[..1], &even[1..])
        .parse::<f64>()
        .is_ok_and(|v| v == x);
    if reads_back {
        (even, exp)
    } else {
        (digits, exp)
    }
}
