//! JSON-RPC 2.0 messages as MCP uses them: requests, notifications and responses.

use serde_json::{json, Map, Value};

/// Standard JSON-RPC error codes.
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_REQUEST: i64 = -32600;

/// The `error` member of a failed response.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

/// One JSON-RPC message, classified by its members.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Request {
        id: Value,
        method: String,
        params: Option<Value>,
    },
    Notification {
        method: String,
        params: Option<Value>,
    },
    Response {
        id: Value,
        result: Result<Value, RpcError>,
    },
}

impl Message {
    /// Classifies a parsed JSON value; the error says what is missing or malformed.
    pub fn from_value(v: &Value) -> Result<Message, String> {
        let obj = v
            .as_object()
            .ok_or_else(|| format!("not a JSON-RPC message (a JSON {})", kind(v)))?;
        if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return Err("not a JSON-RPC 2.0 message (no \"jsonrpc\": \"2.0\")".into());
        }
        let params = obj.get("params").cloned();
        if let Some(method) = obj.get("method") {
            let method = method
                .as_str()
                .ok_or("\"method\" is not a string")?
                .to_string();
            return Ok(match obj.get("id") {
                Some(id) => Message::Request {
                    id: id.clone(),
                    method,
                    params,
                },
                None => Message::Notification { method, params },
            });
        }
        let id = obj.get("id").cloned().ok_or("response without \"id\"")?;
        let result = match (obj.get("result"), obj.get("error")) {
            (Some(r), None) => Ok(r.clone()),
            (None, Some(e)) => Err(parse_error(e)?),
            (Some(_), Some(_)) => return Err("response has both \"result\" and \"error\"".into()),
            (None, None) => return Err("response has neither \"result\" nor \"error\"".into()),
        };
        Ok(Message::Response { id, result })
    }

    /// The message as JSON.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("jsonrpc".into(), json!("2.0"));
        match self {
            Message::Request { id, method, params } => {
                m.insert("id".into(), id.clone());
                m.insert("method".into(), json!(method));
                if let Some(p) = params {
                    m.insert("params".into(), p.clone());
                }
            }
            Message::Notification { method, params } => {
                m.insert("method".into(), json!(method));
                if let Some(p) = params {
                    m.insert("params".into(), p.clone());
                }
            }
            Message::Response { id, result } => {
                m.insert("id".into(), id.clone());
                match result {
                    Ok(r) => {
                        m.insert("result".into(), r.clone());
                    }
                    Err(e) => {
                        let mut err = Map::new();
                        err.insert("code".into(), json!(e.code));
                        err.insert("message".into(), json!(e.message));
                        if let Some(d) = &e.data {
                            err.insert("data".into(), d.clone());
                        }
                        m.insert("error".into(), Value::Object(err));
                    }
                }
            }
        }
        Value::Object(m)
    }
}

/// Reads a JSON-RPC `error` object.
pub fn parse_error(e: &Value) -> Result<RpcError, String> {
    let code = e
        .get("code")
        .and_then(Value::as_i64)
        .ok_or("error object without an integer \"code\"")?;
    Ok(RpcError {
        code,
        message: e
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        data: e.get("data").cloned(),
    })
}

/// "object", "array", "string", ... for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_and_round_trips() {
        let cases = [
            json!({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}),
            json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
            json!({"jsonrpc":"2.0","id":"a","result":{"tools":[]}}),
            json!({"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"Method not found"}}),
        ];
        for v in &cases {
            let m = Message::from_value(v).unwrap();
            assert_eq!(&m.to_value(), v);
        }
        assert!(matches!(
            Message::from_value(&cases[3]).unwrap(),
            Message::Response {
                result: Err(RpcError { code: -32601, .. }),
                ..
            }
        ));
        assert!(Message::from_value(&json!({"id":1,"result":{}})).is_err());
        assert!(Message::from_value(&json!([1])).is_err());
    }
}
