//! Just enough MessagePack to find values inside a blob, cut some out and put them back,
//! without re-encoding anything else: every byte not removed stays as the application wrote
//! it, ext types included. Decoding of single values is left to `rmpv`.
//!
//! Walking is iterative and every step consumes input, so any blob is walked in time and
//! memory linear in its size.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Array,
    Map,
}

/// An array or map header at some offset.
#[derive(Debug, Clone, Copy)]
struct Header {
    kind: Kind,
    count: u64,
    len: usize,
}

fn be(buf: &[u8], pos: usize, n: usize) -> Result<u64, String> {
    let bytes = buf
        .get(pos..pos.checked_add(n).ok_or("offset overflow")?)
        .ok_or_else(|| format!("truncated at byte {pos}"))?;
    Ok(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

fn header(buf: &[u8], pos: usize) -> Result<Option<Header>, String> {
    let m = *buf
        .get(pos)
        .ok_or_else(|| format!("truncated at byte {pos}"))?;
    let h = |kind, count, len| Ok(Some(Header { kind, count, len }));
    match m {
        0x80..=0x8f => h(Kind::Map, u64::from(m & 0x0f), 1),
        0x90..=0x9f => h(Kind::Array, u64::from(m & 0x0f), 1),
        0xdc => h(Kind::Array, be(buf, pos + 1, 2)?, 3),
        0xdd => h(Kind::Array, be(buf, pos + 1, 4)?, 5),
        0xde => h(Kind::Map, be(buf, pos + 1, 2)?, 3),
        0xdf => h(Kind::Map, be(buf, pos + 1, 4)?, 5),
        _ => Ok(None),
    }
}

/// Bytes taken by the value at `pos` itself, not counting container children.
fn own_len(buf: &[u8], pos: usize) -> Result<u64, String> {
    let m = *buf
        .get(pos)
        .ok_or_else(|| format!("truncated at byte {pos}"))?;
    Ok(match m {
        0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => 1,
        0x80..=0x9f => 1,
        0xa0..=0xbf => 1 + u64::from(m & 0x1f),
        0xc1 => return Err(format!("invalid marker 0xc1 at byte {pos}")),
        0xc4 | 0xd9 => 2 + be(buf, pos + 1, 1)?,
        0xc5 | 0xda => 3 + be(buf, pos + 1, 2)?,
        0xc6 | 0xdb => 5 + be(buf, pos + 1, 4)?,
        0xc7 => 3 + be(buf, pos + 1, 1)?,
        0xc8 => 4 + be(buf, pos + 1, 2)?,
        0xc9 => 6 + be(buf, pos + 1, 4)?,
        0xca => 5,
        0xcb => 9,
        0xcc | 0xd0 => 2,
        0xcd | 0xd1 => 3,
        0xce | 0xd2 => 5,
        0xcf | 0xd3 => 9,
        0xd4 => 3,
        0xd5 => 4,
        0xd6 => 6,
        0xd7 => 10,
        0xd8 => 18,
        0xdc | 0xde => 3,
        0xdd | 0xdf => 5,
    })
}

/// Offset just past the value starting at `pos`.
pub(crate) fn value_end(buf: &[u8], pos: usize) -> Result<usize, String> {
    let mut at = pos;
    let mut pending: u64 = 1;
    while pending > 0 {
        pending -= 1;
        if let Some(h) = header(buf, at)? {
            let more = match h.kind {
                Kind::Array => h.count,
                Kind::Map => h.count.saturating_mul(2),
            };
            pending = pending.saturating_add(more);
        }
        let step = usize::try_from(own_len(buf, at)?).map_err(|_| "length overflow")?;
        at = at.checked_add(step).ok_or("length overflow")?;
        if at > buf.len() {
            return Err(format!("value at byte {pos} runs past the end"));
        }
    }
    Ok(at)
}

/// The string at `pos`, if the value there is a string.
pub(crate) fn str_at(buf: &[u8], pos: usize) -> Option<&str> {
    let m = *buf.get(pos)?;
    let (start, len) = match m {
        0xa0..=0xbf => (pos + 1, usize::from(m & 0x1f)),
        0xd9 => (pos + 2, be(buf, pos + 1, 1).ok()? as usize),
        0xda => (pos + 3, be(buf, pos + 1, 2).ok()? as usize),
        0xdb => (pos + 5, usize::try_from(be(buf, pos + 1, 4).ok()?).ok()?),
        _ => return None,
    };
    std::str::from_utf8(buf.get(start..start.checked_add(len)?)?).ok()
}

/// The container at `pos`: its kind and the byte range of each element (array) or of each
/// key-value pair (map), with the key's offset.
pub(crate) struct Children {
    pub kind: Kind,
    pub items: Vec<Child>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Child {
    /// Start of the element, or of the key for a map pair.
    pub start: usize,
    /// Start of the value (equals `start` for arrays).
    pub value: usize,
    pub end: usize,
}

pub(crate) fn children(buf: &[u8], pos: usize) -> Result<Option<Children>, String> {
    let Some(h) = header(buf, pos)? else {
        return Ok(None);
    };
    let mut at = pos + h.len;
    let mut items = Vec::new();
    for _ in 0..h.count {
        let start = at;
        let value = match h.kind {
            Kind::Array => start,
            Kind::Map => value_end(buf, start)?,
        };
        let end = value_end(buf, value)?;
        items.push(Child { start, value, end });
        at = end;
    }
    Ok(Some(Children {
        kind: h.kind,
        items,
    }))
}

/// Follows map keys from the root; the offset of the value at the end of `path`.
pub(crate) fn find(buf: &[u8], path: &[String]) -> Result<Option<usize>, String> {
    let mut pos = 0;
    for key in path {
        let Some(c) = children(buf, pos)? else {
            return Ok(None);
        };
        if c.kind != Kind::Map {
            return Ok(None);
        }
        match c
            .items
            .iter()
            .find(|ch| str_at(buf, ch.start) == Some(key.as_str()))
        {
            Some(ch) => pos = ch.value,
            None => return Ok(None),
        }
    }
    Ok(Some(pos))
}

/// A header for `count` elements at least as wide as the one it replaces, so counts that
/// only go back to what they were keep their original encoding.
fn encode_header(kind: Kind, count: u64, min_len: usize) -> Result<Vec<u8>, String> {
    let (fix, b16, b32) = match kind {
        Kind::Array => (0x90u8, 0xdcu8, 0xddu8),
        Kind::Map => (0x80u8, 0xdeu8, 0xdfu8),
    };
    Ok(if count <= 15 && min_len <= 1 {
        vec![fix | count as u8]
    } else if count <= 0xffff && min_len <= 3 {
        let mut v = vec![b16];
        v.extend_from_slice(&(count as u16).to_be_bytes());
        v
    } else {
        let c = u32::try_from(count).map_err(|_| "container too large")?;
        let mut v = vec![b32];
        v.extend_from_slice(&c.to_be_bytes());
        v
    })
}

/// Removes the children at `indices` (original positions) of the container at `path`,
/// checking that each is `expected` bytes. Returns the new blob.
pub(crate) fn cut(
    buf: &[u8],
    path: &[String],
    indices_and_bytes: &[(usize, &[u8])],
) -> Result<Vec<u8>, String> {
    let pos = find(buf, path)?.ok_or("container not found")?;
    let h = header(buf, pos)?.ok_or("not a container")?;
    let c = children(buf, pos)?.ok_or("not a container")?;
    let mut drop = vec![false; c.items.len()];
    for (i, expected) in indices_and_bytes {
        let ch = c.items.get(*i).ok_or_else(|| format!("no element {i}"))?;
        if &buf[ch.start..ch.end] != *expected {
            return Err(format!("element {i} is not as recorded"));
        }
        drop[*i] = true;
    }
    let left = c.items.len() - drop.iter().filter(|d| **d).count();
    let mut out = Vec::with_capacity(buf.len());
    out.extend_from_slice(&buf[..pos]);
    out.extend(encode_header(c.kind, left as u64, h.len)?);
    for (ch, d) in c.items.iter().zip(&drop) {
        if !d {
            out.extend_from_slice(&buf[ch.start..ch.end]);
        }
    }
    let tail = c.items.last().map_or(pos + h.len, |ch| ch.end);
    out.extend_from_slice(&buf[tail..]);
    Ok(out)
}

/// Inserts children into the container at `path`; each `(position, bytes)` is applied in
/// order, positions counting the children present at that moment.
pub(crate) fn paste(
    buf: &[u8],
    path: &[String],
    items: &[(usize, &[u8])],
) -> Result<Vec<u8>, String> {
    let mut buf = buf.to_vec();
    for (at, bytes) in items {
        let pos = find(&buf, path)?.ok_or("container not found")?;
        let h = header(&buf, pos)?.ok_or("not a container")?;
        let c = children(&buf, pos)?.ok_or("not a container")?;
        let at = (*at).min(c.items.len());
        let insert_at = c.items.get(at).map_or_else(
            || c.items.last().map_or(pos + h.len, |ch| ch.end),
            |ch| ch.start,
        );
        let mut out = Vec::with_capacity(buf.len() + bytes.len() + 4);
        out.extend_from_slice(&buf[..pos]);
        out.extend(encode_header(c.kind, c.items.len() as u64 + 1, h.len)?);
        out.extend_from_slice(&buf[pos + h.len..insert_at]);
        out.extend_from_slice(bytes);
        out.extend_from_slice(&buf[insert_at..]);
        buf = out;
    }
    Ok(buf)
}

/// One value cut out of a blob that stays in the store (a message out of every checkpoint
/// of its thread), recorded so it can be put back at the same place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Cut {
    pub table: String,
    pub rowid: i64,
    pub column: String,
    /// Map keys from the blob's root to the container the value was in.
    pub path: Vec<String>,
    /// Its index in that container (element of an array, pair of a map) before the purge.
    pub index: usize,
    /// Every index this purge took out of the same container, so that putting back only
    /// some of them still lands each where it was.
    pub taken: Vec<usize>,
    /// The element's bytes (a map pair: key then value), exactly as stored.
    #[serde(with = "super::base64_bytes")]
    pub bytes: Vec<u8>,
}

impl Cut {
    pub(crate) fn position(&self) -> serde_json::Value {
        serde_json::json!({
            "table": self.table,
            "rowid": self.rowid,
            "column": self.column,
            "path": self.path,
            "index": self.index,
        })
    }
}

/// Converts a decoded value to JSON for text extraction. LangGraph's ext types 0 to 5 carry
/// `[module, class, data, ...]`: their data is converted; other ext types and binary become
/// null. Values from the `uuid` and `datetime` modules are not text anyone wrote.
pub(crate) fn to_json(v: &rmpv::Value, depth: u32) -> serde_json::Value {
    convert(v, depth, EXT_NESTING)
}

/// Ext values inside ext values are decoded this deep at most: each level decodes (and
/// copies) its payload again, so unbounded nesting would cost blob size times depth.
const EXT_NESTING: u32 = 4;

fn convert(v: &rmpv::Value, depth: u32, ext_left: u32) -> serde_json::Value {
    use serde_json::Value as J;
    if depth == 0 {
        return J::Null;
    }
    match v {
        rmpv::Value::Nil => J::Null,
        rmpv::Value::Boolean(b) => J::Bool(*b),
        rmpv::Value::Integer(i) => i
            .as_i64()
            .map(J::from)
            .or_else(|| i.as_u64().map(J::from))
            .unwrap_or(J::Null),
        rmpv::Value::F32(f) => {
            serde_json::Number::from_f64(f64::from(*f)).map_or(J::Null, J::Number)
        }
        rmpv::Value::F64(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        rmpv::Value::String(s) => s.as_str().map_or(J::Null, |s| J::String(s.to_string())),
        rmpv::Value::Binary(_) => J::Null,
        rmpv::Value::Array(items) => J::Array(
            items
                .iter()
                .map(|i| convert(i, depth - 1, ext_left))
                .collect(),
        ),
        rmpv::Value::Map(pairs) => {
            let mut m = serde_json::Map::new();
            for (k, v) in pairs {
                let key = match k {
                    rmpv::Value::String(s) => s.as_str().unwrap_or("").to_string(),
                    other => other.to_string(),
                };
                m.insert(key, convert(v, depth - 1, ext_left));
            }
            J::Object(m)
        }
        rmpv::Value::Ext(t, payload) if (0..=5).contains(t) && ext_left > 0 => {
            match decode(payload, depth) {
                Some(rmpv::Value::Array(parts)) if parts.len() >= 3 => {
                    let module = parts[0].as_str().unwrap_or("");
                    if module == "uuid" || module == "datetime" {
                        J::Null
                    } else {
                        convert(&parts[2], depth - 1, ext_left - 1)
                    }
                }
                _ => J::Null,
            }
        }
        rmpv::Value::Ext(..) => J::Null,
    }
}

/// Decodes one complete value; `None` when the bytes are not exactly one value.
pub(crate) fn decode(bytes: &[u8], depth: u32) -> Option<rmpv::Value> {
    let mut rd = bytes;
    let v =
        rmpv::decode::read_value_with_max_depth(&mut rd, (depth as usize).saturating_mul(2) + 4)
            .ok()?;
    rd.is_empty().then_some(v)
}

/// A LangChain message serialized by LangGraph (ext type 5: `[module, class, fields,
/// method]`): its fields as JSON.
pub(crate) fn message(bytes: &[u8], depth: u32) -> Option<serde_json::Value> {
    let v = decode(bytes, depth)?;
    let rmpv::Value::Ext(t, payload) = v else {
        return None;
    };
    if t != 5 && t != 4 {
        return None;
    }
    let rmpv::Value::Array(parts) = decode(&payload, depth)? else {
        return None;
    };
    let module = parts.first()?.as_str()?;
    let class = parts.get(1)?.as_str()?;
    if !(module.starts_with("langchain_core.messages") || class.ends_with("Message")) {
        return None;
    }
    let fields = to_json(parts.get(2)?, depth);
    fields.get("content")?;
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: &rmpv::Value) -> Vec<u8> {
        let mut out = Vec::new();
        rmpv::encode::write_value(&mut out, v).unwrap();
        out
    }

    #[test]
    fn cut_and_paste_restore_the_exact_bytes() {
        let v = rmpv::Value::Map(vec![(
            "cv".into(),
            rmpv::Value::Map(vec![(
                "notes".into(),
                rmpv::Value::Array((0..17).map(|i| format!("note {i}").into()).collect()),
            )]),
        )]);
        let buf = enc(&v);
        let path = vec!["cv".to_string(), "notes".to_string()];
        let pos = find(&buf, &path).unwrap().unwrap();
        let c = children(&buf, pos).unwrap().unwrap();
        let b3 = buf[c.items[3].start..c.items[3].end].to_vec();
        let b16 = buf[c.items[16].start..c.items[16].end].to_vec();
        let cut_buf = cut(&buf, &path, &[(3, &b3), (16, &b16)]).unwrap();
        // 15 left: the array16 header is kept, not shrunk to a fixarray.
        let pos2 = find(&cut_buf, &path).unwrap().unwrap();
        assert_eq!(cut_buf[pos2], 0xdc);
        assert_eq!(children(&cut_buf, pos2).unwrap().unwrap().items.len(), 15);
        let back = paste(&cut_buf, &path, &[(3, &b3), (16, &b16)]).unwrap();
        assert_eq!(back, buf);
    }

    #[test]
    fn truncated_and_corrupt_blobs_are_errors() {
        let buf = enc(&rmpv::Value::Array(vec!["abc".into(), 1.into()]));
        for n in 0..buf.len() {
            assert!(value_end(&buf[..n], 0).is_err(), "prefix {n}");
        }
        assert!(value_end(&[0xdd, 0xff, 0xff, 0xff, 0xff], 0).is_err());
        assert!(value_end(&[0xc1], 0).is_err());
    }
}
