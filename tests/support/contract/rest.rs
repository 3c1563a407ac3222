//! GitHub's REST API as its OpenAPI description documents it: which
//! operation a request is, and every way the request breaks that
//! operation's contract (path, method, query parameters, required headers,
//! body); and whether an answer has the documented shape.

use regex::Regex;
use serde_json::Value;

use super::schema::Validator;

/// The REST API description (`@octokit/openapi`'s
/// `generated/api.github.com.json`) with its path templates compiled.
pub struct Rest {
    pub doc: Value,
    templates: Vec<Template>,
}

struct Template {
    path: String,
    regex: Regex,
    /// Parameter names in the order of the regex's groups.
    params: Vec<String>,
    /// How many characters of the template are literal: the most literal
    /// template wins (`issues/comments` over `issues/{issue_number}`).
    literal: usize,
}

/// A request as the fake received it, its path relative to the API base.
pub struct Request<'r> {
    pub method: &'r str,
    pub path: &'r str,
    pub query: &'r str,
    /// Header names lowercase.
    pub headers: &'r [(String, String)],
    pub body: &'r [u8],
}

/// The documented operation a request was matched to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// `issues/create-comment`.
    pub id: String,
    /// The path template, `/repos/{owner}/{repo}/issues/{issue_number}/comments`.
    pub path: String,
    /// Lowercase, as the description keys it.
    pub method: String,
}

impl Rest {
    pub fn new(doc: Value) -> Rest {
        let templates = doc["paths"]
            .as_object()
            .expect("the description has paths")
            .keys()
            .map(|path| compile(&doc, path))
            .collect();
        Rest { doc, templates }
    }

    /// `info.version`: the package version it came from.
    pub fn version(&self) -> &str {
        self.doc["info"]["version"].as_str().unwrap_or("?")
    }

    /// The operation `request` is, and how it breaks its contract (empty:
    /// it keeps it). No operation: the path or method is not documented.
    pub fn check(&self, request: &Request) -> (Option<Operation>, Vec<String>) {
        let method = request.method.to_ascii_lowercase();
        let (template, values) = match self.find(request.path, &method) {
            Ok(found) => found,
            Err(why) => return (None, vec![why]),
        };
        let op = &self.doc["paths"][&template.path][&method];
        let operation = Operation {
            id: op["operationId"].as_str().unwrap_or("?").to_owned(),
            path: template.path.clone(),
            method,
        };
        let mut errors = Vec::new();
        let parameters = self.parameters(&template.path, op);
        self.check_path(&parameters, &template.params, &values, &mut errors);
        self.check_query(&parameters, request.query, &mut errors);
        check_headers(&parameters, request.headers, &mut errors);
        self.check_body(op, request, &mut errors);
        (Some(operation), errors)
    }

    /// How an answer the fake gives for `operation` departs from the
    /// documented response of its status. An error status GitHub does not
    /// list is allowed (it answers 401, 403 and 404 anywhere); an
    /// undocumented success is not.
    pub fn check_response(&self, operation: &Operation, status: u16, body: &[u8]) -> Vec<String> {
        let op = &self.doc["paths"][&operation.path][&operation.method];
        let responses = &op["responses"];
        let key = status.to_string();
        let range = format!("{}XX", status / 100);
        let Some(response) = [key.as_str(), range.as_str(), "default"]
            .iter()
            .find_map(|k| responses.get(*k))
        else {
            if status < 400 {
                return vec![format!("status {status} is not a documented answer")];
            }
            return Vec::new();
        };
        let v = Validator::new(&self.doc);
        let response = v.resolve(response);
        let Some(schema) = response.pointer("/content/application~1json/schema") else {
            return Vec::new();
        };
        match serde_json::from_slice::<Value>(body) {
            Ok(value) => Validator::closed(&self.doc).errors(schema, &value),
            Err(e) => vec![format!("the answer is not JSON: {e}")],
        }
    }

    /// The value of example `name` (`components/examples`): a documented
    /// answer to start a fake's answer from.
    pub fn example(&self, name: &str) -> Value {
        let v = Validator::new(&self.doc);
        let example = v.resolve(&self.doc["components"]["examples"][name]);
        match example.get("value") {
            Some(value) => value.clone(),
            None => panic!("GitHub's description has no example {name:?}"),
        }
    }

    /// The most literal template matching `path` that documents `method`.
    fn find(&self, path: &str, method: &str) -> Result<(&Template, Vec<String>), String> {
        let mut matching: Vec<(&Template, Vec<String>)> = self
            .templates
            .iter()
            .filter_map(|t| {
                let caps = t.regex.captures(path)?;
                let values = (1..caps.len()).map(|i| caps[i].to_owned()).collect();
                Some((t, values))
            })
            .collect();
        if matching.is_empty() {
            return Err(format!(
                "{} {path}: no such path in GitHub's REST API",
                method.to_uppercase()
            ));
        }
        matching.sort_by_key(|(t, _)| std::cmp::Reverse(t.literal));
        let documented = |t: &Template| self.doc["paths"][&t.path].get(method).is_some();
        if let Some(i) = matching.iter().position(|(t, _)| documented(t)) {
            return Ok(matching.swap_remove(i));
        }
        let best = &matching[0].0.path;
        let methods: Vec<String> = self.doc["paths"][best]
            .as_object()
            .into_iter()
            .flat_map(|m| m.keys())
            .filter(|k| *k != "parameters")
            .map(|k| k.to_uppercase())
            .collect();
        Err(format!(
            "{} {path}: {best} has no {} operation (it has {})",
            method.to_uppercase(),
            method.to_uppercase(),
            methods.join(", ")
        ))
    }

    /// The operation's parameters, `$ref`s resolved, the path item's first.
    fn parameters<'a>(&'a self, path: &str, op: &'a Value) -> Vec<&'a Value> {
        let v = Validator::new(&self.doc);
        let shared = self.doc["paths"][path].get("parameters");
        [shared, op.get("parameters")]
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
            .map(|p| v.resolve(p))
            .collect()
    }

    fn check_path(
        &self,
        parameters: &[&Value],
        names: &[String],
        values: &[String],
        e: &mut Vec<String>,
    ) {
        for (name, raw) in names.iter().zip(values) {
            let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
            let schema = parameters
                .iter()
                .find(|p| p["in"] == "path" && p["name"] == name.as_str())
                .map(|p| &p["schema"]);
            if let Some(schema) = schema {
                let value = coerce(&self.doc, schema, &[decoded.into_owned()]);
                for err in Validator::new(&self.doc).errors(schema, &value) {
                    e.push(format!("path parameter {name}{err}"));
                }
            }
        }
    }

    fn check_query(&self, parameters: &[&Value], query: &str, e: &mut Vec<String>) {
        let mut sent: Vec<(String, Vec<String>)> = Vec::new();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()).into_owned() {
            match sent.iter_mut().find(|(name, _)| *name == k) {
                Some((_, values)) => values.push(v),
                None => sent.push((k, vec![v])),
            }
        }
        let documented = |name: &str| {
            parameters
                .iter()
                .find(|p| p["in"] == "query" && p["name"] == name)
        };
        for (name, values) in &sent {
            let Some(p) = documented(name) else {
                e.push(format!(
                    "query parameter {name:?} is not documented for this operation"
                ));
                continue;
            };
            let value = coerce(&self.doc, &p["schema"], values);
            for err in Validator::new(&self.doc).errors(&p["schema"], &value) {
                e.push(format!("query parameter {name}{err}"));
            }
        }
        for p in parameters
            .iter()
            .filter(|p| p["in"] == "query" && p["required"] == true)
        {
            let name = p["name"].as_str().unwrap_or_default();
            if !sent.iter().any(|(k, _)| k == name) {
                e.push(format!("the required query parameter {name:?} is missing"));
            }
        }
    }

    fn check_body(&self, op: &Value, request: &Request, e: &mut Vec<String>) {
        let documented = op
            .get("requestBody")
            .map(|b| Validator::new(&self.doc).resolve(b));
        let Some(body) = documented else {
            if !request.body.is_empty() {
                e.push("sends a body, but the operation takes none".into());
            }
            return;
        };
        if request.body.is_empty() {
            if body["required"] == true {
                e.push("the required request body is missing".into());
            }
            return;
        }
        let content_type = header(request.headers, "content-type").unwrap_or_default();
        let media = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let Some(content) = body["content"].get(&media) else {
            let known: Vec<&String> = body["content"]
                .as_object()
                .into_iter()
                .flat_map(|c| c.keys())
                .collect();
            e.push(format!(
                "content-type {content_type:?} is not one the operation takes ({known:?})"
            ));
            return;
        };
        if !media.ends_with("json") {
            return;
        }
        match serde_json::from_slice::<Value>(request.body) {
            Ok(value) => {
                let schema = &content["schema"];
                for err in Validator::closed(&self.doc).errors(schema, &value) {
                    e.push(format!("body{err}"));
                }
            }
            Err(err) => e.push(format!("the body is not JSON: {err}")),
        }
    }
}

fn check_headers(parameters: &[&Value], headers: &[(String, String)], e: &mut Vec<String>) {
    for p in parameters
        .iter()
        .filter(|p| p["in"] == "header" && p["required"] == true)
    {
        let name = p["name"].as_str().unwrap_or_default();
        if header(headers, name).is_none() {
            e.push(format!("the required header {name} is missing"));
        }
    }
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A path template as a regex: `{name}` one segment, or several for a
/// parameter marked `x-multi-segment` (a ref such as `tags/v1`).
fn compile(doc: &Value, path: &str) -> Template {
    let multi = multi_segment_params(doc, path);
    let mut pattern = String::from("^");
    let mut params = Vec::new();
    let mut literal = 0;
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let close = open + rest[open..].find('}').expect("a closed {param}");
        pattern.push_str(&regex::escape(&rest[..open]));
        literal += open;
        let name = &rest[open + 1..close];
        pattern.push_str(if multi.contains(&name.to_owned()) {
            "(.+)"
        } else {
            "([^/]+)"
        });
        params.push(name.to_owned());
        rest = &rest[close + 1..];
    }
    pattern.push_str(&regex::escape(rest));
    literal += rest.len();
    pattern.push('$');
    Template {
        path: path.to_owned(),
        regex: Regex::new(&pattern).expect("a path template regex"),
        params,
        literal,
    }
}

fn multi_segment_params(doc: &Value, path: &str) -> Vec<String> {
    let v = Validator::new(doc);
    let item = &doc["paths"][path];
    let ops = item.as_object().into_iter().flat_map(|m| m.values());
    ops.filter_map(|op| op.get("parameters")?.as_array())
        .flatten()
        .map(|p| v.resolve(p))
        .filter(|p| p["x-multi-segment"] == true)
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect()
}

/// Query or path text as the JSON value the parameter's schema describes:
/// digits as a number where it wants an integer, `true`/`false` as a
/// boolean, commas splitting an array. Text that does not convert stays a
/// string, for the schema to refuse.
fn coerce(doc: &Value, schema: &Value, values: &[String]) -> Value {
    let v = Validator::new(doc);
    let s = v.resolve(schema);
    let types: Vec<&str> = match &s["type"] {
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        Value::String(t) => vec![t.as_str()],
        _ => Vec::new(),
    };
    if types.contains(&"array") {
        let items: Vec<Value> = values
            .iter()
            .flat_map(|v| v.split(','))
            .map(|one| coerce(doc, &s["items"], &[one.to_owned()]))
            .collect();
        return Value::Array(items);
    }
    if values.len() > 1 {
        return Value::Array(values.iter().map(|v| Value::from(v.as_str())).collect());
    }
    let raw = values.first().map(String::as_str).unwrap_or_default();
    if types.contains(&"integer") {
        if let Ok(n) = raw.parse::<i64>() {
            return Value::from(n);
        }
    }
    if types.contains(&"number") {
        if let Some(n) = raw
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
        {
            return Value::Number(n);
        }
    }
    if types.contains(&"boolean") && (raw == "true" || raw == "false") {
        return Value::Bool(raw == "true");
    }
    Value::from(raw)
}
