//! The shipped workflows (`workflows/`) in the shape ComfyUI's own parser takes: every node a
//! stock node, every input it declares present with the right kind of value (a link to an
//! output of the declared type, or a literal of the widget's type within its range and
//! options), and nothing it does not declare (ComfyUI ignores such inputs silently, so a
//! misspelt name would be a value that never arrives). The declarations in
//! `tests/data/comfyui-node-schemas.json` were taken from ComfyUI's source (its `_about` says
//! which commit); i2v loads each workflow with the config of the README section.

use serde_json::{Map, Value};

fn schemas() -> Map<String, Value> {
    let text = include_str!("../../data/comfyui-node-schemas.json");
    let all: Value = serde_json::from_str(text).unwrap();
    all["nodes"].as_object().unwrap().clone()
}

/// What is wrong with `workflow`, one line each.
fn problems(workflow: &Map<String, Value>, schemas: &Map<String, Value>) -> Vec<String> {
    let mut found = Vec::new();
    for (id, node) in workflow {
        let class = node["class_type"].as_str().unwrap_or("");
        let Some(schema) = schemas.get(class) else {
            found.push(format!("node {id}: {class:?} is not a stock node we know"));
            continue;
        };
        let inputs = node["inputs"].as_object().cloned().unwrap_or_default();
        let declared: Vec<&Value> = ["required", "optional"]
            .iter()
            .flat_map(|k| schema[*k].as_array().into_iter().flatten())
            .collect();
        for name in inputs.keys() {
            if !declared.iter().any(|d| d["name"] == name.as_str()) {
                found.push(format!(
                    "node {id} ({class}): input {name:?} is not declared"
                ));
            }
        }
        for (required, input) in declared
            .iter()
            .map(|d| (schema["required"].as_array().unwrap().contains(d), d))
        {
            let name = input["name"].as_str().unwrap();
            let Some(value) = inputs.get(name) else {
                if required {
                    found.push(format!(
                        "node {id} ({class}): required input {name:?} is missing"
                    ));
                }
                continue;
            };
            let want = input["type"].as_str().unwrap();
            if let Some(link) = value.as_array() {
                let source = link.first().and_then(Value::as_str).unwrap_or("");
                let index = link.get(1).and_then(Value::as_u64).unwrap_or(u64::MAX) as usize;
                let source_class = workflow
                    .get(source)
                    .and_then(|n| n["class_type"].as_str())
                    .unwrap_or("");
                let output = schemas
                    .get(source_class)
                    .and_then(|s| s["outputs"].as_array())
                    .and_then(|o| o.get(index))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if !want.split(',').any(|t| t == output) {
                    found.push(format!(
                        "node {id} ({class}): {name:?} links to output {index} of node {source} ({source_class}), a {output:?}, not a {want}"
                    ));
                }
                continue;
            }
            if input["kind"] == "link" {
                found.push(format!(
                    "node {id} ({class}): {name:?} must be a link to a {want}"
                ));
                continue;
            }
            let fits = match want {
                "INT" => value.is_i64() || value.is_u64(),
                "FLOAT" => value.is_number(),
                "STRING" => value.is_string(),
                "BOOLEAN" => value.is_boolean(),
                _ => value.is_string(),
            };
            if !fits {
                found.push(format!(
                    "node {id} ({class}): {name:?} = {value} is not a {want}"
                ));
                continue;
            }
            if let (Some(n), Some(min)) = (value.as_f64(), input["min"].as_f64()) {
                if n < min {
                    found.push(format!(
                        "node {id} ({class}): {name:?} = {n} is below {min}"
                    ));
                }
            }
            if let (Some(n), Some(max)) = (value.as_f64(), input["max"].as_f64()) {
                if n > max {
                    found.push(format!(
                        "node {id} ({class}): {name:?} = {n} is above {max}"
                    ));
                }
            }
            if let Some(options) = input["options"].as_array() {
                if !options.contains(value) {
                    found.push(format!(
                        "node {id} ({class}): {name:?} = {value} is not one of {options:?}"
                    ));
                }
            }
        }
    }
    found
}

fn load(name: &str) -> Map<String, Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("workflows")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn the_shipped_workflows_use_stock_nodes_as_they_are_declared() {
    let schemas = schemas();
    for name in ["wan22_i2v.json", "ltxv_i2v.json"] {
        let workflow = load(name);
        let found = problems(&workflow, &schemas);
        assert!(found.is_empty(), "{name}:\n{}", found.join("\n"));
    }
}

#[test]
fn the_check_finds_what_comfyui_would_refuse_or_ignore() {
    let schemas = schemas();
    let mut workflow = load("wan22_i2v.json");
    workflow["3"]["inputs"]["steps"] = 0.into();
    workflow["6"]["inputs"]
        .as_object_mut()
        .unwrap()
        .remove("clip");
    workflow["58"]["inputs"]["format"] = "gif".into();
    workflow["50"]["inputs"]["lenght"] = 81.into();
    workflow["8"]["inputs"]["vae"] = serde_json::json!(["52", 0]);
    let found = problems(&workflow, &schemas).join("\n");
    for expected in [
        "node 3 (KSampler): \"steps\" = 0 is below 1",
        "node 6 (CLIPTextEncode): required input \"clip\" is missing",
        "node 58 (SaveVideo): \"format\" = \"gif\" is not one of",
        "node 50 (Wan22ImageToVideoLatent): input \"lenght\" is not declared",
        "node 8 (VAEDecode): \"vae\" links to output 0 of node 52 (LoadImage), a \"IMAGE\", not a VAE",
    ] {
        assert!(found.contains(expected), "{expected:?} not in:\n{found}");
    }
}
