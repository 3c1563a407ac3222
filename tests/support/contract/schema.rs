//! The JSON Schema subset GitHub's OpenAPI descriptions use (3.0's
//! `nullable`, 3.1's arrays of types): `$ref` into the document, `type`,
//! `enum`, `const`, `properties`, `required`, `additionalProperties`,
//! `items`, `oneOf`/`anyOf`/`allOf`/`not`, `minimum`/`maximum`,
//! `minLength`/`maxLength`, `minItems`/`maxItems`, `pattern`. `format` is
//! ignored. Besides checking, it builds an instance of a schema (what the
//! webhook payloads are made from) and applies a test's overrides to one.

use serde_json::{Map, Value};

/// How far `$ref`s and nesting are followed when building an instance.
const MAX_DEPTH: usize = 24;

/// A schema inside `root`, whose `$ref`s (`#/components/…`) it resolves.
#[derive(Clone, Copy)]
pub struct Validator<'a> {
    root: &'a Value,
    /// Objects whose schema lists `properties` and says nothing of
    /// `additionalProperties` accept no other property: what a client
    /// sends must be documented (JSON Schema alone would let it through).
    closed: bool,
}

impl<'a> Validator<'a> {
    pub fn new(root: &'a Value) -> Validator<'a> {
        Validator {
            root,
            closed: false,
        }
    }

    /// Undocumented properties are errors.
    pub fn closed(root: &'a Value) -> Validator<'a> {
        Validator { root, closed: true }
    }

    /// Follows `$ref`s to the schema itself.
    pub fn resolve(&self, mut schema: &'a Value) -> &'a Value {
        for _ in 0..32 {
            let Some(target) = schema.get("$ref").and_then(Value::as_str) else {
                return schema;
            };
            let pointer = target.strip_prefix('#').unwrap_or(target);
            match self.root.pointer(pointer) {
                Some(s) => schema = s,
                None => panic!("unresolvable $ref {target} in GitHub's description"),
            }
        }
        schema
    }

    /// Every way `value` breaks `schema`, each as `at: what` (`at` a JSON
    /// pointer, empty for the whole value).
    pub fn errors(&self, schema: &'a Value, value: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        self.check(schema, value, "", false, &mut errors);
        errors
    }

    fn check(&self, schema: &'a Value, value: &Value, at: &str, open: bool, e: &mut Vec<String>) {
        let s = self.resolve(schema);
        let Some(obj) = s.as_object() else {
            if s == &Value::Bool(false) {
                e.push(format!("{at}: no value is allowed here"));
            }
            return;
        };
        if value.is_null() && obj.get("nullable") == Some(&Value::Bool(true)) {
            return;
        }
        if let Some(types) = obj.get("type") {
            let types: Vec<&str> = match types {
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                t => t.as_str().into_iter().collect(),
            };
            if !types.iter().any(|t| is_type(value, t)) {
                e.push(format!(
                    "{at}: expected {}, found {}",
                    types.join(" or "),
                    describe(value)
                ));
                return;
            }
        }
        if let Some(Value::Array(allowed)) = obj.get("enum") {
            if !allowed.contains(value) {
                e.push(format!(
                    "{at}: {value} is not one of {}",
                    Value::from(allowed.clone())
                ));
            }
        }
        if let Some(c) = obj.get("const").filter(|c| *c != value) {
            e.push(format!("{at}: {value} is not {c}"));
        }
        match value {
            Value::String(text) => self.check_string(obj, text, at, e),
            Value::Number(_) => check_number(obj, value, at, e),
            Value::Array(items) => self.check_array(obj, items, at, e),
            Value::Object(map) => self.check_object(s, map, at, open, e),
            _ => {}
        }
        self.check_combinators(obj, value, at, e);
    }

    fn check_string(&self, s: &Map<String, Value>, text: &str, at: &str, e: &mut Vec<String>) {
        let chars = text.chars().count() as u64;
        if let Some(max) = s
            .get("maxLength")
            .and_then(Value::as_u64)
            .filter(|m| chars > *m)
        {
            e.push(format!(
                "{at}: {chars} characters, more than maxLength {max}"
            ));
        }
        if let Some(min) = s
            .get("minLength")
            .and_then(Value::as_u64)
            .filter(|m| chars < *m)
        {
            e.push(format!(
                "{at}: {chars} characters, fewer than minLength {min}"
            ));
        }
        // A pattern in a syntax the regex crate does not know is skipped.
        let pattern = s.get("pattern").and_then(Value::as_str);
        if let Some((p, re)) = pattern.and_then(|p| Some((p, regex::Regex::new(p).ok()?))) {
            if !re.is_match(text) {
                e.push(format!("{at}: {text:?} does not match the pattern {p}"));
            }
        }
    }

    fn check_array(
        &self,
        s: &'a Map<String, Value>,
        items: &[Value],
        at: &str,
        e: &mut Vec<String>,
    ) {
        let n = items.len() as u64;
        if let Some(max) = s.get("maxItems").and_then(Value::as_u64).filter(|m| n > *m) {
            e.push(format!("{at}: {n} items, more than maxItems {max}"));
        }
        if let Some(min) = s.get("minItems").and_then(Value::as_u64).filter(|m| n < *m) {
            e.push(format!("{at}: {n} items, fewer than minItems {min}"));
        }
        if let Some(item) = s.get("items") {
            for (i, v) in items.iter().enumerate() {
                self.check(item, v, &format!("{at}/{i}"), false, e);
            }
        }
    }

    fn check_object(
        &self,
        schema: &'a Value,
        map: &Map<String, Value>,
        at: &str,
        open: bool,
        e: &mut Vec<String>,
    ) {
        let s = schema.as_object().expect("an object schema");
        for name in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = name.as_str().unwrap_or_default();
            if !map.contains_key(name) {
                e.push(format!("{at}: the required property {name:?} is missing"));
            }
        }
        let properties = s.get("properties").and_then(Value::as_object);
        let additional = s.get("additionalProperties");
        for (name, v) in map {
            let here = format!("{at}/{}", escape_pointer(name));
            if let Some(p) = properties.and_then(|p| p.get(name)) {
                self.check(p, v, &here, false, e);
                continue;
            }
            match additional {
                Some(Value::Bool(false)) => e.push(format!(
                    "{here}: property {name:?} is not allowed (additionalProperties is false)"
                )),
                Some(extra @ Value::Object(_)) => self.check(extra, v, &here, false, e),
                Some(_) => {}
                None => {
                    let described = properties.is_some() || s.contains_key("allOf");
                    let closed = self.closed && !open && described;
                    if closed && !self.documents(schema, name) {
                        e.push(format!("{here}: property {name:?} is not documented"));
                    }
                }
            }
        }
    }

    fn check_combinators(
        &self,
        s: &'a Map<String, Value>,
        value: &Value,
        at: &str,
        e: &mut Vec<String>,
    ) {
        // The branches of a schema that lists properties of its own, or of
        // allOf, describe only part of the object.
        let part = s.contains_key("properties");
        let matches = |branch: &'a Value, open: bool| {
            let mut errors = Vec::new();
            self.check(branch, value, at, open, &mut errors);
            errors
        };
        if let Some(Value::Array(all)) = s.get("allOf") {
            for branch in all {
                e.extend(matches(branch, true));
            }
        }
        for (keyword, exactly_one) in [("oneOf", true), ("anyOf", false)] {
            let Some(Value::Array(branches)) = s.get(keyword) else {
                continue;
            };
            let results: Vec<Vec<String>> = branches.iter().map(|b| matches(b, part)).collect();
            let fits = results.iter().filter(|r| r.is_empty()).count();
            if fits == 0 {
                let why: Vec<String> = results
                    .iter()
                    .enumerate()
                    .map(|(i, r)| format!("choice {}: {}", i + 1, r[0]))
                    .collect();
                e.push(format!(
                    "{at}: matches none of the {keyword} choices ({})",
                    why.join("; ")
                ));
            } else if exactly_one && fits > 1 && !s.contains_key("discriminator") {
                e.push(format!(
                    "{at}: matches {fits} of the oneOf choices, not exactly one"
                ));
            }
        }
        if let Some(not) = s.get("not") {
            if matches(not, true).is_empty() {
                e.push(format!("{at}: matches a schema it must not (not)"));
            }
        }
    }

    /// Whether `schema` (or one of its combined schemas) names `property`.
    fn documents(&self, schema: &'a Value, property: &str) -> bool {
        self.property(schema, property).is_some()
    }

    /// The schema of `property` in `schema`: from `properties`, else any
    /// combined schema's, else `additionalProperties` when it allows more.
    pub fn property(&self, schema: &'a Value, property: &str) -> Option<&'a Value> {
        self.property_within(schema, property, 0)
    }

    fn property_within(
        &self,
        schema: &'a Value,
        property: &str,
        depth: usize,
    ) -> Option<&'a Value> {
        let s = self.resolve(schema);
        if depth > MAX_DEPTH {
            return None;
        }
        if let Some(p) = s.pointer(&format!("/properties/{}", escape_pointer(property))) {
            return Some(p);
        }
        for keyword in ["allOf", "oneOf", "anyOf"] {
            for branch in s
                .get(keyword)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(p) = self.property_within(branch, property, depth + 1) {
                    return Some(p);
                }
            }
        }
        match s.get("additionalProperties") {
            Some(extra @ Value::Object(_)) => Some(extra),
            Some(Value::Bool(true)) => Some(&Value::Bool(true)),
            _ => None,
        }
    }

    /// A value `schema` accepts, as GitHub would fill it: the schema's own
    /// example where it has one, else the first choice, else a plain value
    /// of its type; objects carry their required properties.
    pub fn instance(&self, schema: &'a Value) -> Value {
        self.instance_within(schema, 0)
    }

    fn instance_within(&self, schema: &'a Value, depth: usize) -> Value {
        let s = self.resolve(schema);
        let Some(obj) = s.as_object() else {
            return Value::Null;
        };
        let example = obj
            .get("examples")
            .and_then(|e| e.as_array()?.first())
            .or_else(|| obj.get("example"))
            .or_else(|| obj.get("const"))
            .or_else(|| obj.get("enum")?.as_array()?.iter().find(|v| !v.is_null()));
        if let Some(example) = example.filter(|ex| self.errors(s, ex).is_empty()) {
            return example.clone();
        }
        if depth > MAX_DEPTH {
            return Value::Null;
        }
        if let Some(Value::Array(all)) = obj.get("allOf") {
            let mut merged = Value::Object(Map::new());
            for branch in all {
                if let (Value::Object(m), Value::Object(part)) =
                    (&mut merged, self.instance_within(branch, depth + 1))
                {
                    m.extend(part);
                }
            }
            return merged;
        }
        for keyword in ["oneOf", "anyOf"] {
            let branches = obj.get(keyword).and_then(Value::as_array);
            let chosen = branches.and_then(|b| {
                b.iter().find(|b| {
                    let b = self.resolve(b);
                    b.get("type") != Some(&Value::from("null"))
                })
            });
            if let Some(branch) = chosen {
                return self.instance_within(branch, depth + 1);
            }
        }
        let kind = match obj.get("type") {
            Some(Value::Array(types)) => types
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or("null"),
            Some(Value::String(t)) => t.as_str(),
            _ if obj.contains_key("properties") => "object",
            _ => "null",
        };
        self.plain(obj, kind, depth)
    }

    fn plain(&self, s: &'a Map<String, Value>, kind: &str, depth: usize) -> Value {
        match kind {
            "object" => {
                let mut m = Map::new();
                let properties = s.get("properties").and_then(Value::as_object);
                for name in s
                    .get("required")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let name = name.as_str().unwrap_or_default();
                    let v = match properties.and_then(|p| p.get(name)) {
                        Some(p) => self.instance_within(p, depth + 1),
                        None => Value::Null,
                    };
                    m.insert(name.to_owned(), v);
                }
                Value::Object(m)
            }
            "array" => {
                let min = s.get("minItems").and_then(Value::as_u64).unwrap_or(0);
                let item = s.get("items");
                let items = (0..min).filter_map(|_| Some(self.instance_within(item?, depth + 1)));
                Value::Array(items.collect())
            }
            "string" => Value::from(match s.get("format").and_then(Value::as_str) {
                Some("date-time") => "2024-05-01T12:00:00Z",
                Some("uri" | "uri-template" | "url") => "https://github.com/octo/site",
                Some("email") => "octocat@github.com",
                _ => "x",
            }),
            "integer" | "number" => {
                Value::from(s.get("minimum").and_then(Value::as_i64).unwrap_or(1).max(1))
            }
            "boolean" => Value::Bool(false),
            _ => Value::Null,
        }
    }

    /// `base` with `overrides` merged in (objects key by key, anything
    /// else replaced), each overridden property checked to be one `schema`
    /// documents.
    pub fn merge(
        &self,
        schema: &'a Value,
        base: &mut Value,
        overrides: &Value,
        at: &str,
    ) -> Result<(), String> {
        let (Value::Object(into), Value::Object(from)) = (&mut *base, overrides) else {
            *base = overrides.clone();
            return Ok(());
        };
        for (name, v) in from {
            let here = format!("{at}/{}", escape_pointer(name));
            let Some(p) = self.property(schema, name) else {
                return Err(format!("{here} is not a property GitHub documents"));
            };
            match into.get_mut(name) {
                Some(existing) if existing.is_object() && v.is_object() => {
                    // The object choice of a nullable property.
                    let p = self.object_choice(p);
                    self.merge(p, existing, v, &here)?;
                }
                _ => {
                    into.insert(name.clone(), v.clone());
                }
            }
        }
        Ok(())
    }

    fn object_choice(&self, schema: &'a Value) -> &'a Value {
        let s = self.resolve(schema);
        for keyword in ["oneOf", "anyOf"] {
            for branch in s
                .get(keyword)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let b = self.resolve(branch);
                if b.get("properties").is_some() || b.get("type") == Some(&Value::from("object")) {
                    return b;
                }
            }
        }
        s
    }
}

fn is_type(value: &Value, kind: &str) -> bool {
    match kind {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => true,
    }
}

fn describe(value: &Value) -> String {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let text = value.to_string();
    if text.len() > 60 || value.is_object() || value.is_array() {
        kind.to_owned()
    } else {
        format!("{kind} {text}")
    }
}

fn check_number(s: &Map<String, Value>, value: &Value, at: &str, e: &mut Vec<String>) {
    let n = value.as_f64().unwrap_or_default();
    let bound = |k: &str| s.get(k).and_then(Value::as_f64);
    let exclusive = |k: &str| s.get(k) == Some(&Value::Bool(true));
    if let Some(min) = bound("minimum") {
        if n < min || (exclusive("exclusiveMinimum") && n == min) {
            e.push(format!("{at}: {value} is below the minimum {min}"));
        }
    }
    if let Some(max) = bound("maximum") {
        if n > max || (exclusive("exclusiveMaximum") && n == max) {
            e.push(format!("{at}: {value} is above the maximum {max}"));
        }
    }
    // 3.1: the exclusive bounds are numbers of their own.
    if bound("exclusiveMinimum").is_some_and(|m| n <= m)
        || bound("exclusiveMaximum").is_some_and(|m| n >= m)
    {
        e.push(format!("{at}: {value} is outside the exclusive bounds"));
    }
}

/// A property name as one JSON pointer token.
pub fn escape_pointer(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}
