//! `Contract`: the served OpenAPI document, and the check of one real answer against it.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::TestApp;

/// Operations that have no failure answer to provoke.
const NEVER_FAIL: [&str; 4] = [
    "GET /healthz",
    "GET /metrics",
    "GET /openapi.json",
    "GET /readyz",
];

/// The served document, and which operations have been seen succeeding and failing.
pub struct Contract {
    doc: Value,
    seen: BTreeMap<String, BTreeSet<&'static str>>,
}

/// One checked answer.
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Contract {
    pub async fn load(app: &TestApp) -> Contract {
        let resp = app
            .client
            .get(app.url("/openapi.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let doc: Value = resp.json().await.unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
        Contract {
            doc,
            seen: BTreeMap::new(),
        }
    }

    /// `"METHOD /path/{template}"` of every documented operation.
    pub fn operations(&self) -> BTreeSet<String> {
        let mut ops = BTreeSet::new();
        for (path, item) in self.doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                ops.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
        ops
    }

    pub fn operation(&self, op: &str) -> &Value {
        let (method, path) = op.split_once(' ').unwrap();
        let found = &self.doc["paths"][path][method.to_lowercase()];
        assert!(found.is_object(), "{op} is not documented");
        found
    }

    /// Sends `method path` (an instance of `template`), then checks the answer against what
    /// the document says `method template` answers.
    pub async fn send(
        &mut self,
        app: &TestApp,
        method: Method,
        template: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Answer {
        let mut req = app.client.request(method.clone(), app.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let content_type = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = resp.bytes().await.unwrap();
        let op = format!("{method} {template}");
        let body = self.check(&op, status, content_type.as_deref(), &bytes);
        let failed = !status.is_success() || body.get("code").is_some_and(|c| c != 1000);
        self.seen
            .entry(op)
            .or_default()
            .insert(if failed { "error" } else { "success" });
        Answer { status, body }
    }

    pub async fn post(
        &mut self,
        app: &TestApp,
        path: &str,
        headers: &[(&str, &str)],
        body: Value,
    ) -> Answer {
        self.send(
            app,
            Method::POST,
            path,
            path,
            headers,
            Some(body.to_string()),
        )
        .await
    }

    pub async fn get(&mut self, app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Answer {
        self.send(app, Method::GET, path, path, headers, None).await
    }

    /// The documented response for `status`, its content type, then the body's schema.
    fn check(
        &self,
        op: &str,
        status: StatusCode,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Value {
        let responses = &self.operation(op)["responses"];
        let mut response = &responses[status.as_str()];
        assert!(
            response.is_object(),
            "{op} answered {status}, which is not documented: {}",
            String::from_utf8_lossy(body)
        );
        if let Some(target) = response["$ref"].as_str() {
            response = self.resolve(target);
        }
        let Some(content) = response["content"].as_object().filter(|c| !c.is_empty()) else {
            assert!(body.is_empty(), "{op} {status}: documented without a body");
            return Value::Null;
        };
        let essence = |t: &str| t.split(';').next().unwrap().trim().to_owned();
        let got = essence(content_type.unwrap_or_else(|| panic!("{op} {status}: no content type")));
        let (_, media) = content
            .iter()
            .find(|(documented, _)| essence(documented) == got)
            .unwrap_or_else(|| panic!("{op} {status}: content type {got} is not documented"));
        if got != "application/json" {
            return Value::Null;
        }
        let instance: Value = serde_json::from_slice(body)
            .unwrap_or_else(|e| panic!("{op} {status}: body is not JSON ({e})"));
        self.validate(op, status, &media["schema"], &instance);
        instance
    }

    pub fn validate(&self, op: &str, status: StatusCode, schema: &Value, instance: &Value) {
        let mut errors = self.errors(op, schema, instance);
        // "Not valid under any of the schemas listed in oneOf" hides the cause: list each branch's.
        let resolved = schema["$ref"].as_str().map_or(schema, |r| self.resolve(r));
        if let (false, Some(branches)) = (errors.is_empty(), resolved["oneOf"].as_array()) {
            for branch in branches {
                let name = branch["$ref"].as_str().unwrap_or("inline");
                for e in self.errors(op, branch, instance) {
                    errors.push(format!("{name} {e}"));
                }
            }
        }
        assert!(
            errors.is_empty(),
            "{op} {status}: answer does not match the document:\n{}\n{instance:#}",
            errors.join("\n")
        );
    }

    fn errors(&self, op: &str, schema: &Value, instance: &Value) -> Vec<String> {
        // OpenAPI 3.1 schemas are JSON Schema 2020-12; `$ref`s point into `components`.
        let mut root = schema.clone();
        root["components"] = self.doc["components"].clone();
        let validator = jsonschema::draft202012::new(&root)
            .unwrap_or_else(|e| panic!("{op}: the documented schema does not compile: {e}"));
        validator
            .iter_errors(instance)
            .map(|e| format!("at {}: {e}", e.instance_path()))
            .collect()
    }

    fn resolve(&self, pointer: &str) -> &Value {
        self.doc
            .pointer(pointer.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling $ref {pointer}"))
    }

    pub fn assert_every_operation_exercised(&self) {
        let mut missing = Vec::new();
        for op in self.operations() {
            let seen = self.seen.get(&op).cloned().unwrap_or_default();
            let mut wanted = vec!["success"];
            if !NEVER_FAIL.contains(&op.as_str()) {
                wanted.push("error");
            }
            for outcome in wanted {
                if !seen.contains(outcome) {
                    missing.push(format!("{op}: no {outcome} answer checked"));
                }
            }
        }
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }
}
