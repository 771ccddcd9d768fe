//! A small pickle reader for qdrant-client's local storage: enough of the pickle machine to
//! rebuild the data of a `PointStruct` (protocols 0 to 5), with class references kept as
//! names and never resolved or called.
//!
//! Objects live in an arena and the memo holds indices, so shared references cost nothing
//! (no copying, no "billion laughs"); every opcode consumes input and creates at most one
//! object, so memory is linear in the input. Walking the result is depth-limited, which also
//! stops at reference cycles. Malformed input is an error, never a panic.

use std::collections::HashMap;

/// One unpickled object.
#[derive(Debug, Clone)]
pub(crate) enum Obj {
    None,
    Int(i64),
    /// Booleans, floats, bytes, integers beyond i64: present, value not needed here.
    Other,
    Str(String),
    List(Vec<usize>),
    Tuple(Vec<usize>),
    Dict(Vec<(usize, usize)>),
    Set(Vec<usize>),
    /// A class or function reference (never resolved).
    Global,
    /// The result of calling something (REDUCE, NEWOBJ, INST, OBJ), with its BUILD state.
    Instance {
        state: Option<usize>,
    },
    /// Persistent ids, extension codes, out-of-band buffers: present but opaque.
    Opaque,
}

pub(crate) struct Pickle {
    objs: Vec<Obj>,
    root: usize,
}

pub(crate) fn load(data: &[u8]) -> Result<Pickle, String> {
    Machine::default().run(data)
}

impl Pickle {
    pub(crate) fn root(&self) -> usize {
        self.root
    }

    pub(crate) fn get(&self, id: usize) -> &Obj {
        self.objs.get(id).unwrap_or(&Obj::None)
    }

    pub(crate) fn str(&self, id: usize) -> Option<&str> {
        match self.get(id) {
            Obj::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value under a string key of a dict.
    pub(crate) fn dict_get(&self, dict: usize, key: &str) -> Option<usize> {
        match self.get(dict) {
            Obj::Dict(pairs) => pairs
                .iter()
                .rev()
                .find(|(k, _)| self.str(*k) == Some(key))
                .map(|(_, v)| *v),
            _ => None,
        }
    }

    /// The attribute dict of an object: its BUILD state, or the `__dict__` inside it
    /// (pydantic models pickle `{"__dict__": {...}, "__pydantic_fields_set__": ...}`).
    pub(crate) fn attributes(&self, id: usize) -> Option<usize> {
        let state = match self.get(id) {
            Obj::Instance { state: Some(s) } => *s,
            Obj::Dict(_) => id,
            _ => return None,
        };
        let state = match self.get(state) {
            // (state, slotstate) tuples from __reduce_ex__
            Obj::Tuple(items) => *items.first()?,
            _ => state,
        };
        Some(self.dict_get(state, "__dict__").unwrap_or(state))
    }

    /// Every string leaf under `id`, named by its path from `name`; at most `depth` deep.
    /// Each object is expanded once: a pickle can reference one list from many places, and
    /// walking every path of such a graph would take exponential time.
    pub(crate) fn strings(
        &self,
        id: usize,
        name: &str,
        depth: u32,
        out: &mut Vec<(String, String)>,
    ) {
        let mut seen = std::collections::HashSet::new();
        self.walk(id, name, depth, &mut seen, out);
    }

    fn walk(
        &self,
        id: usize,
        name: &str,
        depth: u32,
        seen: &mut std::collections::HashSet<usize>,
        out: &mut Vec<(String, String)>,
    ) {
        if depth == 0 || !seen.insert(id) {
            return;
        }
        match self.get(id) {
            Obj::Str(s) => out.push((name.to_string(), s.clone())),
            Obj::List(items) | Obj::Tuple(items) | Obj::Set(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.walk(*item, &format!("{name}[{i}]"), depth - 1, seen, out);
                }
            }
            Obj::Dict(pairs) => {
                for (k, v) in pairs {
                    let key = match self.get(*k) {
                        Obj::Str(s) => s.clone(),
                        Obj::Int(i) => i.to_string(),
                        _ => "?".to_string(),
                    };
                    self.walk(*v, &format!("{name}.{key}"), depth - 1, seen, out);
                }
            }
            Obj::Instance { .. } => {
                if let Some(attrs) = self.attributes(id) {
                    self.walk(attrs, name, depth - 1, seen, out);
                }
            }
            _ => {}
        }
    }
}

#[derive(Default)]
struct Machine {
    objs: Vec<Obj>,
    stack: Vec<usize>,
    marks: Vec<usize>,
    memo: HashMap<u64, usize>,
}

struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Input<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).ok_or("length overflow")?;
        let s = self
            .data
            .get(self.pos..end)
            .ok_or_else(|| format!("truncated at byte {}", self.pos))?;
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn le(&mut self, n: usize) -> Result<u64, String> {
        Ok(self
            .take(n)?
            .iter()
            .rev()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn len(&mut self, n: usize) -> Result<usize, String> {
        usize::try_from(self.le(n)?).map_err(|_| "length overflow".to_string())
    }

    /// A newline-terminated argument of the text opcodes.
    fn line(&mut self) -> Result<&'a str, String> {
        let rest = self.data.get(self.pos..).unwrap_or(&[]);
        let n = rest
            .iter()
            .position(|b| *b == b'\n')
            .ok_or_else(|| format!("unterminated line at byte {}", self.pos))?;
        let s = std::str::from_utf8(&rest[..n]).map_err(|_| "line is not UTF-8")?;
        self.pos += n + 1;
        Ok(s)
    }
}

impl Machine {
    fn new_obj(&mut self, o: Obj) -> usize {
        self.objs.push(o);
        self.objs.len() - 1
    }

    fn push(&mut self, o: Obj) {
        let id = self.new_obj(o);
        self.stack.push(id);
    }

    fn pop(&mut self) -> Result<usize, String> {
        if self.marks.last().is_some_and(|m| *m >= self.stack.len()) {
            return Err("stack underflow past a mark".into());
        }
        self.stack.pop().ok_or_else(|| "stack underflow".into())
    }

    fn top(&self) -> Result<usize, String> {
        self.stack
            .last()
            .copied()
            .ok_or_else(|| "stack underflow".into())
    }

    fn pop_mark(&mut self) -> Result<Vec<usize>, String> {
        let m = self.marks.pop().ok_or("no mark")?;
        if m > self.stack.len() {
            return Err("mark past the stack".into());
        }
        Ok(self.stack.split_off(m))
    }

    fn memo_get(&mut self, key: u64) -> Result<(), String> {
        let id = *self
            .memo
            .get(&key)
            .ok_or_else(|| format!("memo {key} not set"))?;
        self.stack.push(id);
        Ok(())
    }

    fn memo_put(&mut self, key: u64) -> Result<(), String> {
        let id = self.top()?;
        self.memo.insert(key, id);
        Ok(())
    }

    fn append(&mut self, list: usize, items: Vec<usize>) -> Result<(), String> {
        match self.objs.get_mut(list) {
            Some(Obj::List(v)) | Some(Obj::Set(v)) => {
                v.extend(items);
                Ok(())
            }
            // Appending to an arbitrary object calls its methods; the items are not needed.
            Some(_) => Ok(()),
            None => Err("bad object".into()),
        }
    }

    fn set_items(&mut self, dict: usize, items: Vec<usize>) -> Result<(), String> {
        if !items.len().is_multiple_of(2) {
            return Err("odd number of dict items".into());
        }
        let pairs: Vec<(usize, usize)> = items.chunks(2).map(|c| (c[0], c[1])).collect();
        match self.objs.get_mut(dict) {
            Some(Obj::Dict(v)) => {
                v.extend(pairs);
                Ok(())
            }
            Some(_) => Ok(()),
            None => Err("bad object".into()),
        }
    }

    fn int_text(&mut self, s: &str) {
        let s = s.trim().trim_end_matches('L');
        match s {
            "00" => self.push(Obj::Other),
            "01" => self.push(Obj::Other),
            _ => self.push(s.parse().map_or(Obj::Other, Obj::Int)),
        }
    }

    fn long_bytes(&mut self, b: &[u8]) {
        if b.len() > 8 {
            return self.push(Obj::Other);
        }
        let mut v: i64 = 0;
        for (i, byte) in b.iter().enumerate() {
            v |= i64::from(*byte) << (8 * i);
        }
        // Sign-extend from the top byte.
        if let Some(last) = b.last() {
            if b.len() < 8 && last & 0x80 != 0 {
                v -= 1i64 << (8 * b.len());
            }
        }
        self.push(Obj::Int(v));
    }

    fn run(mut self, data: &[u8]) -> Result<Pickle, String> {
        let mut inp = Input { data, pos: 0 };
        loop {
            let at = inp.pos;
            let op = inp.u8()?;
            match op {
                0x80 => {
                    inp.u8()?; // PROTO
                }
                0x95 => {
                    inp.take(8)?; // FRAME: a size hint
                }
                b'.' => {
                    let root = self.pop()?;
                    return Ok(Pickle {
                        objs: self.objs,
                        root,
                    });
                }
                b'(' => self.marks.push(self.stack.len()),
                b'1' => {
                    self.pop_mark()?;
                }
                b'0' => {
                    self.pop()?;
                }
                b'2' => {
                    let t = self.top()?;
                    self.stack.push(t);
                }
                b'N' => self.push(Obj::None),
                0x88 => self.push(Obj::Other),
                0x89 => self.push(Obj::Other),
                b'J' => {
                    let v = inp.le(4)? as u32 as i32;
                    self.push(Obj::Int(i64::from(v)));
                }
                b'K' => {
                    let v = inp.u8()?;
                    self.push(Obj::Int(i64::from(v)));
                }
                b'M' => {
                    let v = inp.le(2)?;
                    self.push(Obj::Int(v as i64));
                }
                0x8a => {
                    let n = inp.len(1)?;
                    let b = inp.take(n)?;
                    self.long_bytes(b);
                }
                0x8b => {
                    let n = inp.len(4)?;
                    let b = inp.take(n)?;
                    self.long_bytes(b);
                }
                b'I' | b'L' => {
                    let s = inp.line()?;
                    self.int_text(s);
                }
                b'G' => {
                    inp.take(8)?;
                    self.push(Obj::Other);
                }
                b'F' => {
                    inp.line()?;
                    self.push(Obj::Other);
                }
                b'X' | 0x8c | 0x8d => {
                    let n = match op {
                        b'X' => inp.len(4)?,
                        0x8c => inp.len(1)?,
                        _ => inp.len(8)?,
                    };
                    let b = inp.take(n)?;
                    self.push(Obj::Str(String::from_utf8_lossy(b).into_owned()));
                }
                b'V' => {
                    let s = inp.line()?;
                    self.push(Obj::Str(s.to_string()));
                }
                b'B' | b'C' | 0x8e | 0x96 | b'T' | b'U' => {
                    let n = match op {
                        b'B' | b'T' => inp.len(4)?,
                        b'C' | b'U' => inp.len(1)?,
                        _ => inp.len(8)?,
                    };
                    inp.take(n)?;
                    self.push(Obj::Other);
                }
                b'S' => {
                    let s = inp.line()?;
                    let s = s.trim().trim_matches(|c| c == '\'' || c == '"');
                    self.push(Obj::Str(s.to_string()));
                }
                b']' => self.push(Obj::List(Vec::new())),
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push(Obj::List(items));
                }
                b'a' => {
                    let item = self.pop()?;
                    let list = self.top()?;
                    self.append(list, vec![item])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    let list = self.top()?;
                    self.append(list, items)?;
                }
                b')' => self.push(Obj::Tuple(Vec::new())),
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(Obj::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    if self.stack.len() < n
                        || self.marks.last().is_some_and(|m| *m > self.stack.len() - n)
                    {
                        return Err("stack underflow".into());
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.push(Obj::Tuple(items));
                }
                b'}' => self.push(Obj::Dict(Vec::new())),
                b'd' => {
                    let items = self.pop_mark()?;
                    self.push(Obj::Dict(Vec::new()));
                    let dict = self.top()?;
                    self.set_items(dict, items)?;
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    let dict = self.top()?;
                    self.set_items(dict, vec![k, v])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let dict = self.top()?;
                    self.set_items(dict, items)?;
                }
                0x8f => self.push(Obj::Set(Vec::new())),
                0x90 => {
                    let items = self.pop_mark()?;
                    let set = self.top()?;
                    self.append(set, items)?;
                }
                0x91 => {
                    let items = self.pop_mark()?;
                    self.push(Obj::Set(items));
                }
                b'c' => {
                    inp.line()?; // module
                    inp.line()?; // name
                    self.push(Obj::Global);
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    if !matches!(
                        (self.get(module), self.get(name)),
                        (Obj::Str(_), Obj::Str(_))
                    ) {
                        return Err(format!("STACK_GLOBAL without names at byte {at}"));
                    }
                    self.push(Obj::Global);
                }
                // REDUCE, NEWOBJ: callable and arguments are not needed, only the result.
                b'R' | 0x81 => {
                    self.pop()?;
                    self.pop()?;
                    self.push(Obj::Instance { state: None });
                }
                0x92 => {
                    self.pop()?;
                    self.pop()?;
                    self.pop()?;
                    self.push(Obj::Instance { state: None });
                }
                b'i' => {
                    inp.line()?;
                    inp.line()?;
                    self.pop_mark()?;
                    self.push(Obj::Instance { state: None });
                }
                b'o' => {
                    if self.pop_mark()?.is_empty() {
                        return Err("OBJ without a class".into());
                    }
                    self.push(Obj::Instance { state: None });
                }
                b'b' => {
                    let state = self.pop()?;
                    let obj = self.top()?;
                    if let Some(Obj::Instance { state: s }) = self.objs.get_mut(obj) {
                        *s = Some(state);
                    }
                }
                0x94 => {
                    let key = self.memo.len() as u64;
                    self.memo_put(key)?;
                }
                b'q' => {
                    let key = inp.le(1)?;
                    self.memo_put(key)?;
                }
                b'r' => {
                    let key = inp.le(4)?;
                    self.memo_put(key)?;
                }
                b'p' => {
                    let key = inp.line()?.trim().parse().map_err(|_| "bad PUT")?;
                    self.memo_put(key)?;
                }
                b'h' => {
                    let key = inp.le(1)?;
                    self.memo_get(key)?;
                }
                b'j' => {
                    let key = inp.le(4)?;
                    self.memo_get(key)?;
                }
                b'g' => {
                    let key = inp.line()?.trim().parse().map_err(|_| "bad GET")?;
                    self.memo_get(key)?;
                }
                0x82 => {
                    inp.take(1)?;
                    self.push(Obj::Opaque);
                }
                0x83 => {
                    inp.take(2)?;
                    self.push(Obj::Opaque);
                }
                0x84 => {
                    inp.take(4)?;
                    self.push(Obj::Opaque);
                }
                b'P' => {
                    inp.line()?;
                    self.push(Obj::Opaque);
                }
                b'Q' => {
                    self.pop()?;
                    self.push(Obj::Opaque);
                }
                0x97 => self.push(Obj::Opaque),
                0x98 | 0x99 => {} // READONLY_BUFFER, NEXT_BUFFER's companion: no-op here
                _ => return Err(format!("unknown pickle opcode 0x{op:02x} at byte {at}")),
            }
        }
    }

    fn get(&self, id: usize) -> &Obj {
        self.objs.get(id).unwrap_or(&Obj::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_0_and_2_basics() {
        // pickle.dumps({'a': [1, 'x']}, protocol=0)
        let p0 = b"(dp0\nVa\np1\n(lp2\nI1\naVx\np3\nas.";
        let p = load(p0).unwrap();
        let list = p.dict_get(p.root(), "a").unwrap();
        let mut out = Vec::new();
        p.strings(list, "a", 8, &mut out);
        assert_eq!(out, vec![("a[1]".to_string(), "x".to_string())]);
        // pickle.dumps(-300, protocol=2) uses LONG1 only past 32 bits; BININT here
        let p2 = b"\x80\x02J\xd4\xfe\xff\xff.";
        let p = load(p2).unwrap();
        assert!(matches!(p.get(p.root()), Obj::Int(-300)));
    }

    #[test]
    fn self_reference_is_walked_without_looping() {
        // l = []; l.append(l); pickle.dumps(l, protocol=2)
        let p = load(b"\x80\x02]q\x00h\x00a.").unwrap();
        let mut out = Vec::new();
        p.strings(p.root(), "x", 50, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn shared_references_are_walked_once() {
        // l0 = [l1, l1], l1 = [l2, l2], ... 60 levels deep, then a string: 2^60 paths.
        let mut p = b"\x80\x04\x8c\x01s\x94".to_vec();
        for i in 1..=60u8 {
            p.extend_from_slice(&[b']', 0x94, b'(', b'h', i - 1, b'h', i - 1, b'e']);
        }
        p.push(b'.');
        let pk = load(&p).unwrap();
        let mut out = Vec::new();
        pk.strings(pk.root(), "x", 200, &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn malformed_input_is_an_error() {
        for bad in [
            &b""[..],
            b"\x80",
            b"(",
            b"a.",
            b"h\x05.",
            b"\xff",
            b"X\xff\xff\xff\xffab",
        ] {
            assert!(load(bad).is_err(), "{bad:?}");
        }
    }
}
